#pragma once
// The named choices of the arguments (strategies, schedules, optimizers) as enum classes, under the
// original's names. Each enum has one table of its spellings, indexed by the enum's value; parsing,
// printing, --help and training_args.json all read that table, so strings exist only at the edges.

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace trainer {

// When to log or evaluate (the original's IntervalStrategy).
enum class IntervalStrategy { no, steps, epoch };
// When to save (the original's SaveStrategy): `best` saves after each evaluation that improves the metric.
enum class SaveStrategy { no, steps, epoch, best };
// The learning-rate schedules of the original's get_scheduler (SchedulerType).
enum class SchedulerType {
  linear,
  cosine,
  cosine_with_restarts,
  polynomial,
  constant,
  constant_with_warmup,
  inverse_sqrt,
  reduce_lr_on_plateau,
  cosine_with_min_lr,
  cosine_warmup_with_min_lr,
  warmup_stable_decay,
};
// The optimizers --optim offers (a subset of the original's OptimizerNames).
enum class OptimizerNames { adamw_torch_fused, adamw_torch, adamw, adam, sgd };
// What --include_num_input_tokens_seen counts (the original's; true means all, false no). Without an
// attention mask or a pad token, non_padding counts every input value, as the original falls back to.
enum class InputTokensSeen { no, all, non_padding };
// The original's --ddp_backend spellings; this build runs gloo, and nccl when LibTorch has CUDA.
enum class DdpBackend { nccl, gloo, mpi, ccl, hccl, cncl, mccl };

// The spellings of each choice, in the order of the enum's values.
template <typename E>
struct ChoiceNames;
template <>
struct ChoiceNames<IntervalStrategy> {
  static constexpr std::array<std::string_view, 3> names = {"no", "steps", "epoch"};
};
template <>
struct ChoiceNames<SaveStrategy> {
  static constexpr std::array<std::string_view, 4> names = {"no", "steps", "epoch", "best"};
};
template <>
struct ChoiceNames<SchedulerType> {
  static constexpr std::array<std::string_view, 11> names = {"linear",
                                                             "cosine",
                                                             "cosine_with_restarts",
                                                             "polynomial",
                                                             "constant",
                                                             "constant_with_warmup",
                                                             "inverse_sqrt",
                                                             "reduce_lr_on_plateau",
                                                             "cosine_with_min_lr",
                                                             "cosine_warmup_with_min_lr",
                                                             "warmup_stable_decay"};
};
template <>
struct ChoiceNames<OptimizerNames> {
  static constexpr std::array<std::string_view, 5> names = {"adamw_torch_fused", "adamw_torch", "adamw", "adam", "sgd"};
};

template <>
struct ChoiceNames<DdpBackend> {
  static constexpr std::array<std::string_view, 7> names = {"nccl", "gloo", "mpi", "ccl", "hccl", "cncl", "mccl"};
};

template <>
struct ChoiceNames<InputTokensSeen> {
  static constexpr std::array<std::string_view, 3> names = {"no", "all", "non_padding"};
};

template <typename E>
std::string to_string(E choice) {
  return std::string(ChoiceNames<E>::names.at(static_cast<size_t>(choice)));
}

template <typename E>
std::optional<E> choice_from_string(std::string_view text) {
  const auto& names = ChoiceNames<E>::names;
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == text) return static_cast<E>(i);
  return std::nullopt;
}

template <typename E>
std::vector<std::string> choice_names() {
  return {ChoiceNames<E>::names.begin(), ChoiceNames<E>::names.end()};
}

}  // namespace trainer
