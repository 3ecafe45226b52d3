#include "trainer/tracking/tracker.h"

namespace trainer {

Json RunStart::model_config() const {
  try {
    Json j = Json::parse(model_description);
    return j.is_object() ? j : Json();
  } catch (const std::exception&) {
    return nullptr;
  }
}

Json RunStart::combined_config() const {
  const Json model = model_config();
  Json config = model.is_object() ? model : Json::object();
  for (auto it = arguments.begin(); it != arguments.end(); ++it) config[it.key()] = it.value();
  if (model.is_object() && model.contains("num_parameters")) config["model/num_parameters"] = model["num_parameters"];
  return config;
}

const char* to_string(RunStatus status) {
  switch (status) {
    case RunStatus::finished: return "FINISHED";
    case RunStatus::failed: return "FAILED";
    case RunStatus::killed: return "KILLED";
  }
  return "FINISHED";
}

}  // namespace trainer
