#pragma once
// What a call to Trainer::train() will do, computed from the arguments and the size of the data
// alone (the original's set-up at the top of _inner_training_loop). The loop and the tests use the
// same function, so the tests' oracle cannot drift from the loop.

#include <cstdint>

#include "trainer/core/training_arguments.h"

namespace trainer {

struct TrainingPlan {
  int64_t batches_per_epoch = 0;  // micro-batches the loader yields per epoch
  int64_t updates_per_epoch = 0;  // optimizer steps per epoch (the last group may be short)
  int64_t max_steps = 0;          // optimizer steps of the whole run
  int64_t num_train_epochs = 0;   // epochs the loop enters (the last may stop early)
  int64_t num_train_samples = 0;  // examples the run draws (the original's num_train_samples)
};

// `batches_per_epoch` are one rank's; `world_size` ranks train together. Throws ArgumentError when
// an epoch yields no batch.
TrainingPlan plan_training(const TrainingArguments& args, int64_t num_examples, int64_t batches_per_epoch,
                           int64_t world_size = 1);

// Where a run resumed at `global_step` picks up: the epoch, and the micro-batches of that epoch
// already trained (0 with --ignore_data_skip, which replays the epoch from its start).
struct ResumePosition {
  int64_t epoch = 0;
  int64_t micro_batches_to_skip = 0;
};
ResumePosition resume_position(const TrainingArguments& args, const TrainingPlan& plan, int64_t global_step);

}  // namespace trainer
