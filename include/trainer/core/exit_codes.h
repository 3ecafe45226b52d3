#pragma once
// The exit statuses of the `trainer` program (docs/errors.md), for programs that embed its
// commands or wrap the library the same way.

namespace trainer {

enum ExitCode : int {
  kOk = 0,
  kRuntimeError = 1,  // missing data, unreadable files, I/O failures; `trainer sync`: records still unsent
  kUsageError = 2,    // bad flags or config files
  kDiverged = 3,      // the loss became NaN or infinite
  kPreempted = 4,     // stopped by SIGTERM/SIGINT after saving a checkpoint
  kPeerLost = 5,      // data-parallel: another rank was lost or failed, or the rendezvous did not complete
};

}  // namespace trainer
