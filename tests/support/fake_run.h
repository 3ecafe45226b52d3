#pragma once
// The arguments, state and control of a run that is not running: for driving a callback's events
// by hand in the integration tests.

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "trainer/core/callback.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"

namespace trainer::testing {

struct FakeRun {
  TrainingArguments args;
  TrainerState state;
  TrainerControl control;
  CallbackContext ctx;

  // One on_log with these logs at this global step.
  void log(TrainerCallback& cb, int64_t step, Json logs) {
    state.global_step = step;
    ctx.logs = &logs;
    cb.on_log(args, state, control, ctx);
    ctx.logs = nullptr;
  }

  // A complete checkpoint-<step> in output_dir with these files (name -> bytes), handed to the
  // callback as the Trainer hands it over (on_checkpoint_published), then removed, as rotation
  // may remove it before a tracker's upload: what a tracker sends must be its own copy.
  void publish_checkpoint(TrainerCallback& cb, int64_t step, const std::map<std::string, std::string>& files) {
    const std::filesystem::path dir = std::filesystem::path(args.output_dir) / ("checkpoint-" + std::to_string(step));
    for (const auto& [name, bytes] : files) {
      std::filesystem::create_directories((dir / name).parent_path());
      std::ofstream(dir / name, std::ios::binary) << bytes;
    }
    state.global_step = step;
    ctx.checkpoint_dir = dir.string();
    cb.on_checkpoint_published(args, state, control, ctx);
    std::filesystem::remove_all(dir);
  }
};

}  // namespace trainer::testing
