#pragma once
// `trainer train`: trains a built-in or TorchScript model on Fashion-MNIST or on the user's files.

#include <string>
#include <vector>

namespace trainer::cli {

// Exit statuses of the program.
enum ExitCode : int {
  kOk = 0,
  kRuntimeError = 1,    // missing data, unreadable files, I/O failures
  kUsageError = 2,      // bad flags or config files
  kDiverged = 3,        // the loss became NaN or infinite
  kPreempted = 4,       // stopped by SIGTERM/SIGINT after saving a checkpoint
  kPeerLost = 5,        // data-parallel: another rank was lost or failed, or the rendezvous did not complete
};

int run_train(const std::vector<std::string>& args);

}  // namespace trainer::cli
