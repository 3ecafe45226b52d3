#include "trainer/torch/data_loader.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <torch/torch.h>

namespace trainer {

TensorDataset::TensorDataset(torch::Tensor in, torch::Tensor lab) : inputs(std::move(in)), labels(std::move(lab)) {
  if (!inputs.defined() || !labels.defined())
    throw std::invalid_argument("TensorDataset: inputs and labels must be defined");
  if (inputs.dim() < 1 || labels.dim() != 1 || inputs.size(0) != labels.size(0)) {
    std::ostringstream msg;
    msg << "TensorDataset: inputs " << inputs.sizes() << " and labels " << labels.sizes()
        << " must have the same number of examples along the first dimension (labels one-dimensional)";
    throw std::invalid_argument(msg.str());
  }
  if (labels.scalar_type() != torch::kLong) labels = labels.to(torch::kLong);
  if (!inputs.is_floating_point()) inputs = inputs.to(torch::kFloat);
}

TensorDataLoader::TensorDataLoader(std::shared_ptr<const TensorDataset> dataset, Options options)
    : dataset_(std::move(dataset)), options_(options) {
  if (!dataset_) throw std::invalid_argument("TensorDataLoader: no dataset");
  if (options_.batch_size < 1) throw std::invalid_argument("TensorDataLoader: batch_size must be >= 1");
  if (options_.num_replicas < 1 || options_.rank < 0 || options_.rank >= options_.num_replicas)
    throw std::invalid_argument("TensorDataLoader: rank must be in [0, num_replicas)");
  set_epoch(0);
}

int64_t TensorDataLoader::shard_size() const {
  const int64_t n = dataset_->size(), w = options_.num_replicas;
  if (w == 1) return n;
  return options_.pad_shards ? (n + w - 1) / w : (n - options_.rank + w - 1) / w;
}

int64_t TensorDataLoader::num_batches() const {
  const int64_t n = shard_size(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

void TensorDataLoader::set_epoch(int64_t epoch) {
  const int64_t n = dataset_->size(), w = options_.num_replicas;
  if (!options_.shuffle && w == 1) {
    order_ = torch::Tensor();
    return;
  }
  // A permutation that depends on (seed, epoch) alone: the same on every run, every rank and after
  // resume. It is the original's (accelerate's SeedableRandomSampler: torch.randperm with a CPU
  // generator seeded with seed + epoch), so both train on the same batches in the same order.
  std::vector<int64_t> idx(static_cast<size_t>(n));
  if (options_.shuffle) {
    auto generator = at::detail::createCPUGenerator(options_.seed + static_cast<uint64_t>(epoch));
    const auto permutation = torch::randperm(n, generator, torch::TensorOptions().dtype(torch::kLong));
    std::copy_n(permutation.data_ptr<int64_t>(), n, idx.begin());
  } else {
    std::iota(idx.begin(), idx.end(), 0);
  }
  if (w > 1) {
    // This rank's share: every w-th example from `rank`, of the order padded from its start.
    const int64_t total = options_.pad_shards ? shard_size() * w : n;
    std::vector<int64_t> shard;
    for (int64_t i = options_.rank; i < total && n > 0; i += w) shard.push_back(idx[static_cast<size_t>(i % n)]);
    idx = std::move(shard);
  }
  order_ = torch::tensor(idx, torch::kLong);
}

Batch TensorDataLoader::batch(int64_t index) const {
  if (index < 0 || index >= num_batches()) throw std::out_of_range("TensorDataLoader: batch index out of range");
  const int64_t start = index * options_.batch_size;
  const int64_t stop = std::min(start + options_.batch_size, shard_size());
  Batch b;
  if (order_.defined()) {
    auto rows = order_.slice(0, start, stop);
    b.inputs = dataset_->inputs.index_select(0, rows);
    b.labels = dataset_->labels.index_select(0, rows);
  } else {
    b.inputs = dataset_->inputs.slice(0, start, stop);
    b.labels = dataset_->labels.slice(0, start, stop);
  }
  if (options_.device != b.inputs.device()) {
    const bool pin = options_.pin_memory && options_.device.is_cuda();
    if (pin) {
      b.inputs = b.inputs.pin_memory();
      b.labels = b.labels.pin_memory();
    }
    b.inputs = b.inputs.to(options_.device, /*non_blocking=*/pin);
    b.labels = b.labels.to(options_.device, /*non_blocking=*/pin);
  }
  return b;
}

BatchPrefetcher::BatchPrefetcher(const TensorDataLoader& loader, int64_t first, int64_t end, int64_t workers,
                                 int64_t depth)
    : loader_(loader),
      end_(end),
      depth_(std::max<int64_t>(depth, 1)),
      next_to_prepare_(first),
      next_to_hand_out_(first) {
  // No more threads than batches to prepare; a thread the system refuses stops the ones started.
  const int64_t wanted = std::max<int64_t>(1, std::min(workers, end - first));
  try {
    for (int64_t i = 0; i < wanted; ++i) threads_.emplace_back([this] { work(); });
  } catch (const std::system_error& e) {
    stop_workers();
    throw std::runtime_error("could not start " + std::to_string(wanted) +
                             " batch workers (--dataloader_num_workers): " + e.what() + "; use fewer");
  }
}

BatchPrefetcher::~BatchPrefetcher() { stop_workers(); }

void BatchPrefetcher::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void BatchPrefetcher::work() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    cv_.wait(lock,
             [this] { return stop_ || (next_to_prepare_ < end_ && next_to_prepare_ < next_to_hand_out_ + depth_); });
    if (stop_) return;
    const int64_t index = next_to_prepare_++;
    lock.unlock();
    Batch batch;
    std::exception_ptr error;
    try {
      batch = loader_.batch(index);
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    if (error)
      failed_[index] = error;
    else
      ready_[index] = std::move(batch);
    cv_.notify_all();
  }
}

Batch BatchPrefetcher::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (next_to_hand_out_ >= end_) throw std::out_of_range("BatchPrefetcher: no batches left in this epoch");
  const int64_t index = next_to_hand_out_;
  cv_.wait(lock, [&] { return ready_.count(index) || failed_.count(index); });
  if (failed_.count(index)) std::rethrow_exception(failed_[index]);
  Batch batch = std::move(ready_[index]);
  ready_.erase(index);
  ++next_to_hand_out_;
  cv_.notify_all();
  return batch;
}

}  // namespace trainer
