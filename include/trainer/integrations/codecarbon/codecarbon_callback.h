#pragma once
// CodeCarbonCallback (`--report_to codecarbon`): the run's energy and emissions in
// <output_dir>/emissions.csv (CodeCarbon 3.3 columns), a row every measure_power_secs while
// training and a last one when training ends. Configured as CodeCarbon is (.codecarbon.config,
// CODECARBON_* variables; see codecarbon_config.h). One tracker per machine: only local process
// zero measures. Measurements and writes run on the callback's BackgroundWriter, so the training
// loop never waits for them.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "trainer/core/background_writer.h"
#include "trainer/core/callback.h"
#include "trainer/integrations/codecarbon/emissions_tracker.h"

namespace trainer {

class CodeCarbonCallback : public TrainerCallback {
 public:
  // Without a configuration, it is read from the files and the environment at on_init_end.
  explicit CodeCarbonCallback(std::optional<CodeCarbonConfig> config = std::nullopt, EmissionsSources sources = {});
  ~CodeCarbonCallback() override;

  void on_init_end(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
  void on_train_begin(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;
  void on_train_end(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) override;

  BackgroundWriter& writer() { return *writer_; }
  // Null until on_init_end on local process zero.
  const EmissionsTracker* tracker() const { return tracker_.get(); }

 private:
  void create_tracker(const Args& args);
  void stop_ticker();

  std::optional<CodeCarbonConfig> config_;
  EmissionsSources sources_;
  std::unique_ptr<EmissionsTracker> tracker_;
  std::unique_ptr<BackgroundWriter> writer_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread ticker_;
};

}  // namespace trainer
