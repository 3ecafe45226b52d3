#include "trainer/torch/distributed/data_parallel.h"

#include <torch/torch.h>

#include "trainer/callbacks/preemption_callback.h"
#include "trainer/core/json.h"
#include "trainer/core/logging.h"
#include "trainer/core/process_info.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/training_arguments.h"
#include "trainer/torch/distributed/gradient_reducer.h"
#include "trainer/torch/distributed/process_group.h"
#include "trainer/torch/model.h"
#include "trainer/torch/rng_state.h"

namespace trainer {

namespace fs = std::filesystem;

namespace {

// The original's Trainer asks DDP to find unused parameters unless told otherwise.
bool finds_unused_parameters(const TrainingArguments& args) { return args.ddp_find_unused_parameters.value_or(true); }

void warn_of_other_world_size(const LoopState& loop, const ProcessInfo& process) {
  const int64_t written_by = loop.world_size.value_or(1);
  // Said once for the job (rank 0), not by every rank.
  if (written_by != process.world_size && process.is_world_process_zero())
    log_warning("Resuming a checkpoint written by " + std::to_string(written_by) + " process(es) with " +
                std::to_string(process.world_size) +
                ": each rank's share of the data, so the order of the examples and the "
                "random state, differ from the uninterrupted run's (training goes on from the same step and weights)");
}

// One process: nothing to agree with anyone on.
class SingleProcess : public DataParallelStrategy {
 public:
  explicit SingleProcess(const ProcessInfo& process) : process_(process) {}
  ProcessGroup* process_group() override { return nullptr; }
  void synchronize_control(TrainerControl&) override {}
  void broadcast_buffers() override {}
  void prepare_training(const std::vector<torch::Tensor>&, const std::vector<std::string>&) override {}
  void before_backward(bool) override {}
  void after_backward(bool, int64_t) override {}
  LoopState::Accumulated over_ranks(LoopState::Accumulated local) override { return local; }
  double sum_over_ranks(double local) override { return local; }
  void combine_evaluation_shards(torch::Tensor&, std::vector<torch::Tensor>&, std::vector<torch::Tensor>&, bool,
                                 int64_t) override {}
  void add_rng_state_files(CheckpointFiles& files, bool) override {
    files.emplace_back("rng_state.pth", contents(rng_state_bytes()));
  }
  void restore_rng_state(const fs::path& dir) override {
    if (fs::exists(dir / "rng_state.pth")) {
      load_rng_state(dir / "rng_state.pth");
      return;
    }
    log_info(
        "No rng_state.pth in the checkpoint; random state not restored, so dropout and other draws differ "
        "from the uninterrupted run");
  }
  bool share_weights_of_rank_zero() override { return false; }
  void restore_loop(LoopState& loop, bool) override { warn_of_other_world_size(loop, process_); }
  void report_failure(std::exception_ptr) noexcept override {}

 private:
  const ProcessInfo& process_;
};

// A process of a job of several: every call is a collective that every rank makes.
class DistributedDataParallel : public DataParallelStrategy {
 public:
  DistributedDataParallel(const ProcessInfo& process, const TrainingArguments& args, Model& model,
                          torch::Device device);
  ProcessGroup* process_group() override { return group_.get(); }
  void synchronize_control(TrainerControl& control) override;
  void broadcast_buffers() override;
  void prepare_training(const std::vector<torch::Tensor>& parameters, const std::vector<std::string>& names) override;
  void before_backward(bool synchronize) override {
    if (synchronize) reducer_->prepare_for_backward();
  }
  void after_backward(bool synchronize, int64_t step) override;
  LoopState::Accumulated over_ranks(LoopState::Accumulated local) override;
  double sum_over_ranks(double local) override { return group_->all_reduce_values({local})[0]; }
  void combine_evaluation_shards(torch::Tensor& loss_sum, std::vector<torch::Tensor>& logits,
                                 std::vector<torch::Tensor>& labels, bool collect, int64_t total) override;
  void add_rng_state_files(CheckpointFiles& files, bool is_world_process_zero) override;
  void restore_rng_state(const fs::path& dir) override;
  bool share_weights_of_rank_zero() override;
  void restore_loop(LoopState& loop, bool is_world_process_zero) override;
  void report_failure(std::exception_ptr error) noexcept override;

 private:
  // DistributedError on every rank when a rank's arguments would make it train otherwise than rank 0.
  void check_same_arguments();
  // Rank 0's parameters and buffers to every rank.
  void broadcast_model_state();
  // Every rank's rows of an evaluation (rank r holds examples r, r + n, ...), in dataset order.
  torch::Tensor gather_in_dataset_order(const torch::Tensor& local, int64_t total);

  const ProcessInfo& process_;
  const TrainingArguments& args_;
  Model& model_;
  torch::Device device_;
  std::unique_ptr<ProcessGroup> group_;
  std::unique_ptr<GradientReducer> reducer_;
  std::vector<torch::Tensor> buffers_;
  std::vector<std::string> parameter_names_;
  bool unused_parameters_warned_ = false;
};

DistributedDataParallel::DistributedDataParallel(const ProcessInfo& process, const TrainingArguments& args,
                                                 Model& model, torch::Device device)
    : process_(process), args_(args), model_(model), device_(device) {
  group_ = ProcessGroup::join(process_, args_.ddp_backend, std::chrono::seconds(args_.ddp_timeout), device_);
  std::vector<torch::Tensor> parameters;
  for (auto& [name, p] : model_.named_parameters()) parameters.push_back(p);
  for (auto& [name, b] : model_.named_buffers()) buffers_.push_back(b);
  check_same_arguments();
  group_->check_same_parameters(parameters);
  // Every rank starts from rank 0's weights, whatever its own seed or file gave it (DDP's _sync_module_states).
  broadcast_model_state();
  log_info("Data-parallel training: " + process_.describe() + ", backend " + to_string(group_->backend()) + ", " +
           std::to_string(args_.ddp_timeout) + " s timeout");
}

void DistributedDataParallel::broadcast_buffers() {
  if (buffers_.empty() || !args_.ddp_broadcast_buffers.value_or(true)) return;
  group_->broadcast(buffers_);
}

void DistributedDataParallel::prepare_training(const std::vector<torch::Tensor>& parameters,
                                               const std::vector<std::string>& names) {
  GradientReducer::Options options;
  if (args_.ddp_bucket_cap_mb) options.bucket_bytes = *args_.ddp_bucket_cap_mb << 20;
  options.find_unused_parameters = finds_unused_parameters(args_);
  reducer_.reset();  // its hooks go before the new one's are added
  reducer_ = std::make_unique<GradientReducer>(*group_, parameters, options);
  parameter_names_ = names;
  unused_parameters_warned_ = false;
}

void DistributedDataParallel::after_backward(bool synchronize, int64_t step) {
  if (!synchronize) return;
  reducer_->finish_backward();
  // Once per run, with --ddp_find_unused_parameters false: a parameter without a gradient here.
  if (unused_parameters_warned_ || finds_unused_parameters(args_)) return;
  const auto unused = reducer_->unused_here();
  if (unused.empty()) return;
  unused_parameters_warned_ = true;
  log_warning(
      "Parameter '" + parameter_names_[unused.front()] + "'" +
      (unused.size() > 1 ? " and " + std::to_string(unused.size() - 1) + " more" : "") + " got no gradient on " +
      process_.describe() + " at step " + std::to_string(step) +
      ": averaged as zero (--ddp_find_unused_parameters false). With --ddp_find_unused_parameters true a parameter "
      "that no rank uses keeps no gradient, as in a single process");
}

LoopState::Accumulated DistributedDataParallel::over_ranks(LoopState::Accumulated now) {
  // The original gathers the loss and takes the mean; NaN counts add up, so every rank agrees on divergence.
  const auto sums = group_->all_reduce_values({now.tr_loss, static_cast<double>(now.nonfinite)});
  now.tr_loss = sums[0] / static_cast<double>(process_.world_size);
  now.nonfinite = static_cast<int64_t>(sums[1]);
  return now;
}

void DistributedDataParallel::check_same_arguments() {
  // Every rank sees every rank's arguments, so that all stop with the same error instead of some
  // waiting in a collective for the others.
  const auto all = group_->all_gather_bytes(dump_json(args_.to_json()));
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

void DistributedDataParallel::synchronize_control(TrainerControl& control) {
  // One small all-reduce per step: a flag any rank raised is raised on all, so that every rank logs,
  // evaluates, saves and stops at the same step. A stop signal travels with them, so that every rank
  // reports it as the one that received it does.
  const auto v = group_->all_reduce_values(
      {static_cast<double>(control.should_training_stop), static_cast<double>(control.should_epoch_stop),
       static_cast<double>(control.should_save), static_cast<double>(control.should_evaluate),
       static_cast<double>(control.should_log), static_cast<double>(PreemptionCallback::requested_signal())},
      ProcessGroup::Reduce::max);
  control.should_training_stop = v[0] > 0;
  control.should_epoch_stop = v[1] > 0;
  control.should_save = v[2] > 0;
  control.should_evaluate = v[3] > 0;
  control.should_log = v[4] > 0;
  if (v[5] > 0 && PreemptionCallback::requested_signal() == 0) PreemptionCallback::request(static_cast<int>(v[5]));
}

void DistributedDataParallel::combine_evaluation_shards(torch::Tensor& loss_sum, std::vector<torch::Tensor>& all_logits,
                                                        std::vector<torch::Tensor>& all_labels, bool collect,
                                                        int64_t total) {
  // Each rank evaluated its shard: the loss is summed, the outputs gathered in dataset order, so
  // that every rank computes the same metrics and takes the same decisions on them.
  group_->all_reduce({loss_sum});
  if (!collect) return;
  const auto on_device = torch::TensorOptions().device(device_);
  auto logits = all_logits.empty() ? torch::zeros({0, 0}, on_device) : torch::cat(all_logits);
  auto labels = all_labels.empty() ? torch::zeros({0}, on_device.dtype(torch::kLong)) : torch::cat(all_labels);
  // A rank with no example still needs the logits' width to gather.
  const auto width = static_cast<int64_t>(
      group_->all_reduce_values({static_cast<double>(logits.size(1))}, ProcessGroup::Reduce::max)[0]);
  if (logits.size(0) == 0) logits = torch::zeros({0, width}, on_device);
  all_logits = {gather_in_dataset_order(logits, total)};
  all_labels = {gather_in_dataset_order(labels, total)};
}

torch::Tensor DistributedDataParallel::gather_in_dataset_order(const torch::Tensor& local, int64_t total) {
  // Rank r holds examples r, r + n, r + 2n, ...: pad every shard to the longest, gather, interleave.
  const int64_t world = process_.world_size, longest = (total + world - 1) / world;
  auto sizes = local.sizes().vec();
  sizes[0] = longest - local.size(0);
  const auto padded = torch::cat({local, torch::zeros(sizes, local.options())}).to(device_);
  const auto shards = group_->all_gather(padded);
  auto interleaved = torch::stack(shards, 1);  // [longest, world, ...]
  auto flat_sizes = interleaved.sizes().vec();
  flat_sizes.erase(flat_sizes.begin());
  flat_sizes[0] = longest * world;
  return interleaved.reshape(flat_sizes).slice(0, 0, total);
}

void DistributedDataParallel::add_rng_state_files(CheckpointFiles& files, bool is_world_process_zero) {
  // The original: rng_state.pth in a single process, one rng_state_<rank>.pth per rank otherwise.
  // Rank 0 writes them all, so that no other rank writes into the checkpoint.
  const auto states = group_->all_gather_bytes(rng_state_bytes());
  if (!is_world_process_zero) return;
  for (size_t r = 0; r < states.size(); ++r)
    files.emplace_back("rng_state_" + std::to_string(r) + ".pth", contents(states[r]));
}

void DistributedDataParallel::restore_rng_state(const fs::path& dir) {
  const fs::path file = dir / ("rng_state_" + std::to_string(process_.rank) + ".pth");
  if (fs::exists(file)) {
    load_rng_state(file);
    return;
  }
  log_info("No " + file.filename().string() + " in the checkpoint" + " (it was written by a job of another size)" +
           "; random state not restored, so dropout and other draws differ from the uninterrupted run");
}

void DistributedDataParallel::broadcast_model_state() {
  std::vector<torch::Tensor> state;
  for (auto& [name, p] : model_.named_parameters()) state.push_back(p);
  state.insert(state.end(), buffers_.begin(), buffers_.end());
  group_->broadcast(state);
}

void DistributedDataParallel::report_failure(std::exception_ptr error) noexcept {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const DistributedError&) {
    // A lost peer: the others found out themselves.
  } catch (const std::exception& e) {
    group_->report_failure(e.what());
  } catch (...) {
    group_->report_failure("an unknown error");
  }
}

bool DistributedDataParallel::share_weights_of_rank_zero() {
  broadcast_model_state();
  // On every rank, whether or not rank 0 found the best weights: the ranks must agree on whether
  // the last evaluation still holds (a fresh one is a collective).
  return true;
}

void DistributedDataParallel::restore_loop(LoopState& loop, bool is_world_process_zero) {
  warn_of_other_world_size(loop, process_);
  // The saved loss is the mean over the ranks, so every rank keeps it (their mean is unchanged);
  // the NaN count is their total, so rank 0 alone keeps it.
  if (!is_world_process_zero) loop.nonfinite.zero_();
}

}  // namespace

std::unique_ptr<DataParallelStrategy> DataParallelStrategy::create(const ProcessInfo& process,
                                                                   const TrainingArguments& args, Model& model,
                                                                   torch::Device device) {
  if (!process.distributed()) return std::make_unique<SingleProcess>(process);
  return std::make_unique<DistributedDataParallel>(process, args, model, device);
}

}  // namespace trainer
