#include "trainer/torch/trainer.h"

#include <torch/torch.h>

#include "trainer/callbacks/preemption_callback.h"
#include "trainer/core/logging.h"
#include "trainer/torch/distributed/gradient_reducer.h"
#include "trainer/torch/distributed/process_group.h"
#include "trainer/torch/rng_state.h"

// The Trainer's data-parallel pieces (docs/distributed.md). In a single process each is a no-op or
// does what a single process does; in a job of several, they are collectives that every rank calls
// at the same point of the loop.

namespace trainer {

namespace fs = std::filesystem;

namespace {
// The original's Trainer asks DDP to find unused parameters unless told otherwise.
bool finds_unused_parameters(const TrainingArguments& args) { return args.ddp_find_unused_parameters.value_or(true); }
}  // namespace

void Trainer::join_process_group() {
  if (!process_.distributed()) return;
  process_group_ = ProcessGroup::join(process_, args_.ddp_backend, std::chrono::seconds(args_.ddp_timeout), device_);
  std::vector<torch::Tensor> parameters;
  for (auto& [name, p] : model_->named_parameters()) parameters.push_back(p);
  for (auto& [name, b] : model_->named_buffers()) buffers_.push_back(b);
  check_same_arguments();
  process_group_->check_same_parameters(parameters);
  // Every rank starts from rank 0's weights, whatever its own seed or file gave it (DDP's _sync_module_states).
  broadcast_model_state();
  log_info("Data-parallel training: " + process_.describe() + ", backend " + to_string(process_group_->backend()) +
           ", " + std::to_string(args_.ddp_timeout) + " s timeout");
}

void Trainer::broadcast_buffers() {
  if (!process_group_ || buffers_.empty() || !args_.ddp_broadcast_buffers.value_or(true)) return;
  process_group_->broadcast(buffers_);
}

void Trainer::create_gradient_reducer() {
  if (!process_group_) return;
  GradientReducer::Options options;
  if (args_.ddp_bucket_cap_mb) options.bucket_bytes = *args_.ddp_bucket_cap_mb << 20;
  options.find_unused_parameters = finds_unused_parameters(args_);
  gradient_reducer_.reset();  // its hooks go before the new one's are added
  gradient_reducer_ = std::make_unique<GradientReducer>(*process_group_, parameters_, options);
  unused_parameters_warned_ = false;
}

void Trainer::warn_of_unused_parameters() {
  if (unused_parameters_warned_ || finds_unused_parameters(args_)) return;
  const auto unused = gradient_reducer_->unused_here();
  if (unused.empty()) return;
  unused_parameters_warned_ = true;
  log_warning(
      "Parameter '" + parameter_names_[unused.front()] + "'" +
      (unused.size() > 1 ? " and " + std::to_string(unused.size() - 1) + " more" : "") + " got no gradient on " +
      process_.describe() + " at step " + std::to_string(state_.global_step + 1) +
      ": averaged as zero (--ddp_find_unused_parameters false). With --ddp_find_unused_parameters true a parameter "
      "that no rank uses keeps no gradient, as in a single process");
}

void Trainer::check_same_arguments() {
  // Every rank sees every rank's arguments, so that all stop with the same error instead of some
  // waiting in a collective for the others.
  const auto all = process_group_->all_gather_bytes(dump_json(args_.to_json()));
  const Json rank_zero = parse_json(all[0], "rank 0's arguments");
  for (size_t rank = 1; rank < all.size(); ++rank) {
    const auto theirs =
        TrainingArguments::from_json(parse_json(all[rank], "rank " + std::to_string(rank) + "'s arguments"));
    const auto differences = compare_rank_arguments(rank_zero, theirs, static_cast<int64_t>(rank));
    if (differences.empty()) continue;
    std::string list;
    for (const auto& line : differences) list += (list.empty() ? "" : "; ") + line;
    throw DistributedError("rank " + std::to_string(rank) + "'s arguments differ from rank 0's (" + list +
                           "); start every rank with the same command");
  }
}

void Trainer::synchronize_control() {
  if (!process_group_) return;
  // One small all-reduce per step: a flag any rank raised is raised on all, so that every rank logs,
  // evaluates, saves and stops at the same step. A stop signal travels with them, so that every rank
  // reports it as the one that received it does.
  const auto v = process_group_->all_reduce_values(
      {static_cast<double>(control_.should_training_stop), static_cast<double>(control_.should_epoch_stop),
       static_cast<double>(control_.should_save), static_cast<double>(control_.should_evaluate),
       static_cast<double>(control_.should_log), static_cast<double>(PreemptionCallback::requested_signal())},
      ProcessGroup::Reduce::max);
  control_.should_training_stop = v[0] > 0;
  control_.should_epoch_stop = v[1] > 0;
  control_.should_save = v[2] > 0;
  control_.should_evaluate = v[3] > 0;
  control_.should_log = v[4] > 0;
  if (v[5] > 0 && PreemptionCallback::requested_signal() == 0) PreemptionCallback::request(static_cast<int>(v[5]));
}

void Trainer::combine_evaluation_shards(torch::Tensor& loss_sum, std::vector<torch::Tensor>& all_logits,
                                        std::vector<torch::Tensor>& all_labels, bool collect, int64_t total) {
  if (!process_group_) return;
  // Each rank evaluated its shard: the loss is summed, the outputs gathered in dataset order, so
  // that every rank computes the same metrics and takes the same decisions on them.
  process_group_->all_reduce({loss_sum});
  if (!collect) return;
  const auto on_device = torch::TensorOptions().device(device_);
  auto logits = all_logits.empty() ? torch::zeros({0, 0}, on_device) : torch::cat(all_logits);
  auto labels = all_labels.empty() ? torch::zeros({0}, on_device.dtype(torch::kLong)) : torch::cat(all_labels);
  // A rank with no example still needs the logits' width to gather.
  const auto width = static_cast<int64_t>(
      process_group_->all_reduce_values({static_cast<double>(logits.size(1))}, ProcessGroup::Reduce::max)[0]);
  if (logits.size(0) == 0) logits = torch::zeros({0, width}, on_device);
  all_logits = {gather_in_dataset_order(logits, total)};
  all_labels = {gather_in_dataset_order(labels, total)};
}

torch::Tensor Trainer::gather_in_dataset_order(const torch::Tensor& local, int64_t total) {
  if (!process_group_) return local;
  // Rank r holds examples r, r + n, r + 2n, ...: pad every shard to the longest, gather, interleave.
  const int64_t world = process_.world_size, longest = (total + world - 1) / world;
  auto sizes = local.sizes().vec();
  sizes[0] = longest - local.size(0);
  const auto padded = torch::cat({local, torch::zeros(sizes, local.options())}).to(device_);
  const auto shards = process_group_->all_gather(padded);
  auto interleaved = torch::stack(shards, 1);  // [longest, world, ...]
  auto flat_sizes = interleaved.sizes().vec();
  flat_sizes.erase(flat_sizes.begin());
  flat_sizes[0] = longest * world;
  return interleaved.reshape(flat_sizes).slice(0, 0, total);
}

void Trainer::add_rng_state_files(CheckpointFiles& files) {
  // The original: rng_state.pth in a single process, one rng_state_<rank>.pth per rank otherwise.
  // Rank 0 writes them all, so that no other rank writes into the checkpoint.
  if (!process_group_) {
    files.emplace_back("rng_state.pth", contents(rng_state_bytes()));
    return;
  }
  const auto states = process_group_->all_gather_bytes(rng_state_bytes());
  if (!state_.is_world_process_zero) return;
  for (size_t r = 0; r < states.size(); ++r)
    files.emplace_back("rng_state_" + std::to_string(r) + ".pth", contents(states[r]));
}

void Trainer::restore_rng_state(const fs::path& dir) {
  const fs::path file =
      dir / (process_group_ ? "rng_state_" + std::to_string(process_.rank) + ".pth" : std::string("rng_state.pth"));
  if (fs::exists(file)) {
    load_rng_state(file);
    return;
  }
  log_info("No " + file.filename().string() + " in the checkpoint" +
           (process_group_ ? " (it was written by a job of another size)" : std::string()) +
           "; random state not restored, so dropout and other draws differ from the uninterrupted run");
}

void Trainer::broadcast_model_state() {
  std::vector<torch::Tensor> state;
  for (auto& [name, p] : model_->named_parameters()) state.push_back(p);
  state.insert(state.end(), buffers_.begin(), buffers_.end());
  process_group_->broadcast(state);
}

void Trainer::share_weights_of_rank_zero() {
  if (!process_group_) return;
  broadcast_model_state();
  // On every rank, whether or not rank 0 found the best weights: the ranks must agree on whether
  // the last evaluation still holds (a fresh one is a collective).
  ++weights_version_;
}

void Trainer::restore_loop_across_ranks(LoopState& loop) {
  const int64_t written_by = loop.world_size.value_or(1);
  // Said once for the job (rank 0), not by every rank.
  if (written_by != process_.world_size && process_.is_world_process_zero())
    log_warning("Resuming a checkpoint written by " + std::to_string(written_by) + " process(es) with " +
                std::to_string(process_.world_size) +
                ": each rank's share of the data, so the order of the examples and the "
                "random state, differ from the uninterrupted run's (training goes on from the same step and weights)");
  if (!process_group_) return;
  // The saved loss is the mean over the ranks, so every rank keeps it (their mean is unchanged);
  // the NaN count is their total, so rank 0 alone keeps it.
  if (!state_.is_world_process_zero) loop.nonfinite.zero_();
}

void Trainer::report_failure_to_peers(std::exception_ptr error) noexcept {
  if (!process_group_ || !error) return;
  try {
    std::rethrow_exception(error);
  } catch (const DistributedError&) {
    // A lost peer: the others found out themselves.
  } catch (const std::exception& e) {
    process_group_->report_failure(e.what());
  } catch (...) {
    process_group_->report_failure("an unknown error");
  }
}

}  // namespace trainer
