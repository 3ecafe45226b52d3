#pragma once
// report.html: one self-contained page about a run (no scripts, no network): plots of training and
// evaluation loss, each evaluation metric, learning rate and gradient norm against step; the final
// metrics; the best checkpoint; every argument. Plots are inline SVG.

#include <filesystem>
#include <string>

#include "trainer/core/json.h"

namespace trainer {

// `state` is a trainer_state.json object, `args` a training_args.json object (may be null).
// While `running`, the page says so and reloads itself every 30 seconds.
std::string render_report_html(const Json& state, const Json& args, bool running);

// Rebuilds <output_dir>/report.html from a run's files: trainer_state.json in output_dir, else
// the newest checkpoint's; training_args.json beside it or in output_dir. Returns the report's
// path. Throws std::runtime_error naming what is missing.
std::filesystem::path write_report_from_run(const std::filesystem::path& output_dir);

}  // namespace trainer
