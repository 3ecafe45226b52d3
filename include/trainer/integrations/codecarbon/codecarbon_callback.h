#pragma once
// CodeCarbonCallback (`--report_to codecarbon`): the run's energy and emissions in
// <output_dir>/emissions.csv (CodeCarbon 3.3 columns), a row every measure_power_secs while
// training and a last one when training ends. Configured as CodeCarbon is (.codecarbon.config,
// CODECARBON_* variables; see codecarbon_config.h). One tracker per machine: only local process
// zero measures (the tracker layer's gating, set up at on_init_end as the original). Measurements
// and writes run on a BackgroundWriter, so the training loop never waits for them.

#include <memory>
#include <optional>

#include "trainer/core/background_writer.h"
#include "trainer/integrations/codecarbon/codecarbon_config.h"
#include "trainer/integrations/codecarbon/emissions_tracker.h"
#include "trainer/tracking/tracker_callback.h"

namespace trainer {

class CodeCarbonCallback : public TrackerCallback {
 public:
  // Without a configuration, it is read from the files and the environment at on_init_end.
  explicit CodeCarbonCallback(std::optional<CodeCarbonConfig> config = std::nullopt, EmissionsSources sources = {});
  ~CodeCarbonCallback() override;

  BackgroundWriter& writer();
  // Null until on_init_end (or on_train_begin) on local process zero.
  const EmissionsTracker* tracker() const;

  struct Measurement;  // the emissions tracker, its writer and the ticker, shared with the tracker

 private:
  explicit CodeCarbonCallback(std::shared_ptr<Measurement> measurement);
  std::shared_ptr<Measurement> measurement_;
};

}  // namespace trainer
