#pragma once
// The original's _determine_best_metric: whether an evaluation's --metric_for_best_model value beats
// state.best_metric (higher with --greater_is_better, lower without), and if so, recording it with
// its step. Throws ArgumentError naming the available keys when the metric is missing.

#include "trainer/core/json.h"

namespace trainer {

struct TrainerState;
struct TrainingArguments;

// False without --metric_for_best_model.
bool update_best_metric(const TrainingArguments& args, TrainerState& state, const Json& metrics);

}  // namespace trainer
