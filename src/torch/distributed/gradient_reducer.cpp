#include "trainer/torch/distributed/gradient_reducer.h"

#include <mutex>
#include <utility>

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/torch.h>

#include "trainer/torch/distributed/process_group.h"

namespace trainer {

namespace {
using Clock = std::chrono::steady_clock;
}  // namespace

struct GradientReducer::State {
  struct Slot {
    torch::Tensor parameter;
    size_t position = 0;  // in the constructor's list
    size_t bucket = 0;
    int64_t offset = 0;  // in the bucket's flat buffer
    bool ready = false;
    bool used = false;  // had a gradient on this rank (from this backward pass or earlier micro-batches)
  };
  struct Bucket {
    torch::Tensor flat;
    std::vector<size_t> slots;
    size_t pending = 0;
    std::unique_ptr<PendingReduction> reduction;
  };

  ProcessGroup* group = nullptr;
  double scale = 1;  // 1 / world size
  bool find_unused = true;
  torch::Tensor usage;  // host int32, one per slot: after the all-reduce, how many ranks used it
  std::vector<Slot> slots;
  std::vector<Bucket> buckets;
  // The grad accumulators, kept alive with the hooks registered on them (autograd holds them weakly).
  // Their pointer type is whatever LibTorch hands out: std::shared_ptr up to 2.14, c10::intrusive_ptr
  // from 2.15.
  using AccumulatorPtr = decltype(torch::autograd::impl::grad_accumulator(std::declval<const torch::Tensor&>()));
  std::vector<std::pair<AccumulatorPtr, uintptr_t>> hooks;
  std::mutex mutex;  // hooks of CUDA parameters run on autograd's device threads
  bool armed = false;
  size_t next_to_launch = 0;
  size_t started_during_backward = 0;  // of the last reduced backward pass
  std::chrono::duration<double> exposed{0};

  torch::Tensor view_of(const Slot& slot) const {
    return buckets[slot.bucket].flat.narrow(0, slot.offset, slot.parameter.numel());
  }

  void copy_in(Slot& slot) {
    const auto grad = slot.parameter.grad();
    auto view = view_of(slot);
    slot.used = grad.defined();
    if (!grad.defined())
      view.zero_();
    else if (grad.data_ptr() == view.data_ptr())
      view.mul_(scale);  // the gradient already is its bucket view
    else
      torch::mul_out(view, grad.reshape({-1}), torch::scalar_tensor(scale, view.options()));
    slot.ready = true;
    --buckets[slot.bucket].pending;
  }

  // Buckets start in index order on every rank, so that the collectives match up.
  void launch_ready_buckets() {
    while (next_to_launch < buckets.size() && buckets[next_to_launch].pending == 0) {
      auto& b = buckets[next_to_launch++];
      b.reduction = group->all_reduce_async(b.flat);
    }
  }

  std::unique_ptr<PendingReduction> start_usage_reduction() {
    auto* count = usage.data_ptr<int32_t>();
    for (size_t i = 0; i < slots.size(); ++i) count[i] = slots[i].used ? 1 : 0;
    return group->all_reduce_host_async(usage);
  }

  bool used_by_some_rank(size_t slot) const { return !find_unused || usage.data_ptr<int32_t>()[slot] > 0; }

  void on_gradient(size_t index) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!armed || slots[index].ready) return;
    copy_in(slots[index]);
    launch_ready_buckets();
  }

  void assign_buckets(int64_t bucket_bytes, int64_t first_bucket_bytes) {
    int64_t filled = 0;
    for (size_t i = 0; i < slots.size(); ++i) {
      auto& s = slots[i];
      const bool fits = !buckets.empty() && buckets.back().flat.scalar_type() == s.parameter.scalar_type() &&
                        buckets.back().flat.device() == s.parameter.device() &&
                        filled < (buckets.size() == 1 ? first_bucket_bytes : bucket_bytes);
      if (!fits) {
        buckets.emplace_back();
        buckets.back().flat = torch::empty({0}, s.parameter.options().requires_grad(false));
        filled = 0;
      }
      auto& b = buckets.back();
      s.bucket = buckets.size() - 1;
      s.offset = b.flat.numel();
      b.flat = torch::empty({b.flat.numel() + s.parameter.numel()}, b.flat.options());
      b.slots.push_back(i);
      filled += s.parameter.numel() * static_cast<int64_t>(s.parameter.element_size());
    }
    for (auto& b : buckets) b.flat.zero_();
  }
};

GradientReducer::GradientReducer(ProcessGroup& group, std::vector<torch::Tensor> parameters, Options options)
    : state_(std::make_shared<State>()) {
  state_->group = &group;
  state_->scale = 1.0 / static_cast<double>(group.world_size());
  state_->find_unused = options.find_unused_parameters;
  // Reverse order: the last layers' gradients come first.
  for (size_t i = parameters.size(); i-- > 0;)
    if (parameters[i].requires_grad()) state_->slots.push_back(State::Slot{parameters[i], i});
  state_->usage = torch::zeros({static_cast<int64_t>(state_->slots.size())}, torch::kInt);
  state_->assign_buckets(options.bucket_bytes, options.first_bucket_bytes);
  std::weak_ptr<State> weak = state_;
  for (size_t i = 0; i < state_->slots.size(); ++i) {
    auto accumulator = torch::autograd::impl::grad_accumulator(state_->slots[i].parameter);
    const auto key = accumulator->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
        [weak, i](const torch::autograd::variable_list& outputs, const torch::autograd::variable_list&) {
          if (auto state = weak.lock()) state->on_gradient(i);
          return outputs;
        }));
    state_->hooks.emplace_back(std::move(accumulator), key);
  }
}

GradientReducer::~GradientReducer() {
  for (auto& [accumulator, key] : state_->hooks) accumulator->del_post_hook(key);
}

void GradientReducer::prepare_for_backward() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  for (auto& s : state_->slots) s.ready = false;
  for (auto& b : state_->buckets) {
    b.pending = b.slots.size();
    b.reduction.reset();
  }
  state_->next_to_launch = 0;
  state_->armed = true;
}

void GradientReducer::finish_backward() {
  auto& st = *state_;
  std::lock_guard<std::mutex> lock(st.mutex);
  if (!st.armed) return;
  st.armed = false;
  st.started_during_backward = st.next_to_launch;
  for (auto& s : st.slots)
    if (!s.ready) st.copy_in(s);
  st.launch_ready_buckets();
  auto usage = st.find_unused && !st.slots.empty() ? st.start_usage_reduction() : nullptr;
  const auto started = Clock::now();
  for (auto& b : st.buckets) b.reduction->wait();
  if (usage) usage->wait();
  st.exposed += Clock::now() - started;
  for (size_t i = 0; i < st.slots.size(); ++i) {
    auto& s = st.slots[i];
    if (st.used_by_some_rank(i)) s.parameter.mutable_grad() = st.view_of(s).view(s.parameter.sizes());
  }
}

size_t GradientReducer::bucket_count() const { return state_->buckets.size(); }
size_t GradientReducer::buckets_started_during_backward() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->started_during_backward;
}
std::vector<size_t> GradientReducer::unused_here() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  std::vector<size_t> out;
  for (auto it = state_->slots.rbegin(); it != state_->slots.rend(); ++it)
    if (!it->used) out.push_back(it->position);
  return out;
}

std::vector<size_t> GradientReducer::unused_everywhere() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  std::vector<size_t> out;
  if (!state_->find_unused) return out;
  for (size_t i = state_->slots.size(); i-- > 0;)
    if (!state_->used_by_some_rank(i)) out.push_back(state_->slots[i].position);
  return out;
}

std::chrono::duration<double> GradientReducer::exposed_wait() const { return state_->exposed; }

}  // namespace trainer
