#include "trainer/core/trainer_state.h"

#include <cmath>
#include <cstdlib>
#include <stdexcept>

#include "trainer/core/atomic_file.h"
#include "trainer/core/training_arguments.h"

namespace trainer {
namespace {

template <typename T>
Json opt(const std::optional<T>& v) {
  return v ? Json(*v) : Json(nullptr);
}

const char* const kKnownKeys[] = {"best_global_step",
                                  "best_metric",
                                  "best_model_checkpoint",
                                  "epoch",
                                  "eval_steps",
                                  "global_step",
                                  "is_hyper_param_search",
                                  "is_local_process_zero",
                                  "is_world_process_zero",
                                  "log_history",
                                  "logging_steps",
                                  "max_steps",
                                  "num_input_tokens_seen",
                                  "num_train_epochs",
                                  "save_steps",
                                  "stateful_callbacks",
                                  "total_flos",
                                  "train_batch_size",
                                  "trial_name",
                                  "trial_params"};

}  // namespace

void TrainerState::compute_steps(const TrainingArguments& args, int64_t max) {
  auto resolve = [max](std::optional<double> value, int64_t& target) {
    if (!value) return;
    if (*value < 1)
      target = static_cast<int64_t>(std::ceil(static_cast<double>(max) * *value));
    else
      target = static_cast<int64_t>(*value);
  };
  resolve(args.logging_steps, logging_steps);
  resolve(args.eval_steps, eval_steps);
  resolve(args.save_steps, save_steps);
}

Json TrainerState::to_json() const {
  Json j = unknown_fields.is_object() ? unknown_fields : Json::object();
  j["best_global_step"] = opt(best_global_step);
  j["best_metric"] = opt(best_metric);
  j["best_model_checkpoint"] = opt(best_model_checkpoint);
  j["epoch"] = epoch;
  j["eval_steps"] = eval_steps;
  j["global_step"] = global_step;
  j["is_hyper_param_search"] = is_hyper_param_search;
  j["is_local_process_zero"] = is_local_process_zero;
  j["is_world_process_zero"] = is_world_process_zero;
  j["log_history"] = log_history;
  j["logging_steps"] = logging_steps;
  j["max_steps"] = max_steps;
  j["num_input_tokens_seen"] = num_input_tokens_seen;
  j["num_train_epochs"] = num_train_epochs;
  j["save_steps"] = save_steps;
  j["stateful_callbacks"] = stateful_callbacks;
  j["total_flos"] = total_flos;
  j["train_batch_size"] = opt(train_batch_size);
  j["trial_name"] = opt(trial_name);
  j["trial_params"] = trial_params;
  return j;
}

TrainerState TrainerState::from_json(const Json& j) {
  if (!j.is_object()) throw std::runtime_error("trainer state: expected a JSON object");
  TrainerState s;
  // [4.x] files may carry "epoch": null; v5 treats it as 0.
  s.epoch = field_or<double>(j, "epoch", 0.0);
  s.global_step = field_or<int64_t>(j, "global_step", 0);
  s.max_steps = field_or<int64_t>(j, "max_steps", 0);
  s.logging_steps = field_or<int64_t>(j, "logging_steps", 500);
  s.eval_steps = field_or<int64_t>(j, "eval_steps", 500);
  s.save_steps = field_or<int64_t>(j, "save_steps", 500);
  s.train_batch_size = optional_field<int64_t>(j, "train_batch_size");
  s.num_train_epochs = field_or<int64_t>(j, "num_train_epochs", 0);
  s.num_input_tokens_seen = field_or<int64_t>(j, "num_input_tokens_seen", 0);
  s.total_flos = field_or<double>(j, "total_flos", 0.0);
  if (j.contains("log_history") && !j["log_history"].is_null()) s.log_history = j["log_history"];
  if (!s.log_history.is_array()) throw std::runtime_error("field 'log_history': expected a list");
  s.best_metric = optional_field<double>(j, "best_metric");
  s.best_global_step = optional_field<int64_t>(j, "best_global_step");
  s.best_model_checkpoint = optional_field<std::string>(j, "best_model_checkpoint");
  s.is_local_process_zero = field_or<bool>(j, "is_local_process_zero", true);
  s.is_world_process_zero = field_or<bool>(j, "is_world_process_zero", true);
  s.is_hyper_param_search = field_or<bool>(j, "is_hyper_param_search", false);
  s.trial_name = optional_field<std::string>(j, "trial_name");
  if (j.contains("trial_params")) s.trial_params = j["trial_params"];
  if (j.contains("stateful_callbacks") && !j["stateful_callbacks"].is_null())
    s.stateful_callbacks = j["stateful_callbacks"];
  if (!s.stateful_callbacks.is_object()) throw std::runtime_error("field 'stateful_callbacks': expected an object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool known = false;
    for (const char* k : kKnownKeys) known = known || it.key() == k;
    if (!known) s.unknown_fields[it.key()] = it.value();
  }
  return s;
}

std::string TrainerState::to_json_string() const { return dump_json(to_json(), {2, true, true}) + "\n"; }

void TrainerState::save_to_json(const std::filesystem::path& path) const { write_file_atomic(path, to_json_string()); }

TrainerState TrainerState::load_from_json(const std::filesystem::path& path) {
  return read_file_with_context(path, [&] { return from_json(read_json_file(path)); });
}

}  // namespace trainer
