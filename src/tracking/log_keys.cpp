#include "trainer/tracking/log_keys.h"

namespace trainer {

std::string rewrite_log_key(const std::string& key) {
  if (key.rfind("eval_", 0) == 0) return "eval/" + key.substr(5);
  if (key.rfind("test_", 0) == 0) return "test/" + key.substr(5);
  return "train/" + key;
}

namespace {

void flatten_into(const Json& object, const std::string& prefix, const std::string& separator, Json& out) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    const std::string key = prefix.empty() ? it.key() : prefix + separator + it.key();
    if (it.value().is_object())
      flatten_into(it.value(), key, separator, out);
    else
      out[key] = it.value();
  }
}

}  // namespace

Json flatten_keys(const Json& object, const std::string& separator) {
  Json out = Json::object();
  flatten_into(object, "", separator, out);
  return out;
}

bool is_single_value_scalar(const std::string& key) {
  return key == "train_runtime" || key == "train_samples_per_second" || key == "train_steps_per_second" ||
         key == "train_loss" || key == "total_flos";
}

}  // namespace trainer
