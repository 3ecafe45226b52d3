#include "trainer/core/trainer_control.h"

namespace trainer {

Json TrainerControl::state() const {
  Json args = Json::object();
  args["should_training_stop"] = should_training_stop;
  args["should_epoch_stop"] = should_epoch_stop;
  args["should_save"] = should_save;
  args["should_evaluate"] = should_evaluate;
  args["should_log"] = should_log;
  return Json{{"args", args}, {"attributes", Json::object()}};
}

TrainerControl TrainerControl::from_state(const Json& state) {
  TrainerControl c;
  const Json& a = state.at("args");
  c.should_training_stop = a.value("should_training_stop", false);
  c.should_epoch_stop = a.value("should_epoch_stop", false);
  c.should_save = a.value("should_save", false);
  c.should_evaluate = a.value("should_evaluate", false);
  c.should_log = a.value("should_log", false);
  return c;
}

}  // namespace trainer
