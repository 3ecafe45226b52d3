#pragma once
// TrainerState: the mutable progress record, saved as trainer_state.json in every checkpoint
// in the original's exact layout, so files move freely between this library and Python.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "trainer/core/json.h"
#include "trainer/core/process_info.h"

namespace trainer {

struct TrainingArguments;

struct TrainerState {
  double epoch = 0;
  int64_t global_step = 0;
  int64_t max_steps = 0;
  int64_t logging_steps = 500;
  int64_t eval_steps = 500;
  int64_t save_steps = 500;
  std::optional<int64_t> train_batch_size;
  int64_t num_train_epochs = 0;
  int64_t num_input_tokens_seen = 0;
  double total_flos = 0;
  Json log_history = Json::array();
  std::optional<double> best_metric;
  std::optional<int64_t> best_global_step;
  std::optional<std::string> best_model_checkpoint;
  bool is_local_process_zero = true;
  bool is_world_process_zero = true;
  bool is_hyper_param_search = false;
  std::optional<std::string> trial_name;
  Json trial_params = nullptr;
  Json stateful_callbacks = Json::object();
  // Keys this version does not know (from a newer writer); kept so that they round-trip.
  Json unknown_fields = Json::object();

  // Resolves fractional logging/eval/save intervals against max_steps.
  void compute_steps(const TrainingArguments& args, int64_t max_steps);

  Json to_json() const;
  static TrainerState from_json(const Json& json);

  // trainer_state.json: sorted keys, indent 2, trailing newline, NaN/Infinity tokens.
  std::string to_json_string() const;
  void save_to_json(const std::filesystem::path& path) const;  // atomic
  static TrainerState load_from_json(const std::filesystem::path& path);
};

}  // namespace trainer
