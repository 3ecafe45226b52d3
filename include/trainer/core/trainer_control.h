#pragma once
// TrainerControl: the five flags through which callbacks steer the loop. The loop reads them;
// the CallbackHandler resets them before the events named below.

#include "trainer/core/json.h"

namespace trainer {

struct TrainerControl {
  bool should_training_stop = false;  // reset at on_train_begin only
  bool should_epoch_stop = false;     // reset at on_epoch_begin
  bool should_save = false;           // reset at on_step_begin and on_save
  bool should_evaluate = false;       // reset at on_step_begin and on_evaluate
  bool should_log = false;            // reset at on_step_begin and on_log

  // ExportableState layout: {"args": {five flags}, "attributes": {}}.
  Json state() const;
  static TrainerControl from_state(const Json& state);

  bool operator==(const TrainerControl& o) const {
    return should_training_stop == o.should_training_stop && should_epoch_stop == o.should_epoch_stop &&
           should_save == o.should_save && should_evaluate == o.should_evaluate && should_log == o.should_log;
  }
};

}  // namespace trainer
