#pragma once
// LoopState: what the training loop carries from step to step, and its file in every checkpoint
// (loop_state.json), so a resumed run logs and reports exactly what an uninterrupted one would. The
// loss accumulators stay on the device; read_accumulators() is the one read of them to the host.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <torch/types.h>

#include "trainer/core/json.h"

namespace trainer {

struct LoopState {
  // On the device.
  torch::Tensor tr_loss;    // sum of micro-batch losses since the last log
  torch::Tensor nonfinite;  // NaN/Inf micro-batch losses since the last log
  torch::Tensor grad_norm;  // pre-clip norm of the last optimizer step (undefined without clipping)
  // On the host.
  double total_loss_scalar = 0;  // sum of the losses already logged
  int64_t last_logged_step = 0;
  int64_t micro_batches_since_log = 0;
  double current_flos = 0;                    // operations since the last log, not yet in total_flos
  std::optional<double> learning_rate;        // the rate the last optimizer step used
  std::optional<int64_t> num_train_examples;  // the training set's size (absent in older checkpoints)
  std::optional<int64_t> world_size;          // the processes that wrote the checkpoint (absent in older ones)
  int64_t examples_seen = 0;                  // in this train() call, for the speed metrics (not saved)

  // The device values, read together.
  struct Accumulated {
    double tr_loss = 0;
    int64_t nonfinite = 0;
    std::optional<double> grad_norm;
  };

  // Zeroed accumulators on `device`, starting at `global_step`.
  static LoopState start(torch::Device device, int64_t global_step);
  // One transfer of tr_loss, nonfinite and grad_norm (the loop counts it in Trainer::host_reads()).
  Accumulated read_accumulators() const;
  void reset_accumulators();
  // Adds one micro-batch's loss (a float scalar) to tr_loss and counts it in nonfinite when NaN/Inf;
  // with `nan_inf_filter` such a loss adds tr_loss / steps_since_log instead, as the original does.
  // No synchronisation on a device; on the CPU, plain float arithmetic on the values.
  void add_loss(const torch::Tensor& loss, bool nan_inf_filter, int64_t steps_since_log);

  // loop_state.json: the host fields with `now`, the accumulators as read.
  Json to_json(const Accumulated& now) const;
  // Throws std::runtime_error naming the field that is missing or of the wrong type.
  static LoopState from_json(const Json& json, torch::Device device);
  // from_json of a file; errors name the file too.
  static LoopState read(const std::filesystem::path& path, torch::Device device);
};

}  // namespace trainer
