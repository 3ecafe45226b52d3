#pragma once
// The files a finished (or stopped) run leaves in its output_dir, found the way `trainer report`
// and `trainer sync` look for them.

#include <filesystem>

#include "trainer/core/json.h"

namespace trainer {

struct RunFiles {
  std::filesystem::path state_file;  // output_dir/trainer_state.json, else the newest checkpoint's
  Json state;                        // its contents
  Json args;                         // training_args.json beside it or in output_dir; null if none
};

// Throws std::runtime_error naming what is missing.
RunFiles read_run_files(const std::filesystem::path& output_dir);

}  // namespace trainer
