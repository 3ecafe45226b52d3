#pragma once
// Datasets held as tensors, and the loader that cuts them into batches. The order of an epoch
// depends only on (seed, epoch), so a resumed run sees the same batches as an uninterrupted one.

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <torch/types.h>

#include "trainer/core/data_loader.h"

namespace trainer {

// One batch: model inputs and integer class labels.
struct Batch {
  torch::Tensor inputs;
  torch::Tensor labels;
  int64_t size() const { return inputs.size(0); }
};

// Examples along the first dimension of `inputs` (float) and `labels` (int64).
struct TensorDataset {
  torch::Tensor inputs;
  torch::Tensor labels;
  // The names of the feature columns when the data came from a CSV file (empty otherwise), so that
  // an evaluation file is matched to the training file by column name.
  std::vector<std::string> feature_names;
  TensorDataset(torch::Tensor inputs, torch::Tensor labels);  // throws std::invalid_argument on mismatch
  int64_t size() const { return inputs.size(0); }
};

class TensorDataLoader : public DataLoader {
 public:
  struct Options {
    int64_t batch_size = 8;
    bool shuffle = false;
    bool drop_last = false;
    uint64_t seed = 0;
    torch::Device device = torch::kCPU;
    bool pin_memory = false;  // only meaningful when `device` is a GPU
    // Data-parallel sharding, as torch's DistributedSampler: rank r reads the examples r, r + n,
    // r + 2n, ... of each epoch's order (n = num_replicas). With pad_shards (training) the order is
    // first padded from its start to a multiple of n, so that every rank takes as many steps;
    // without (evaluation) the shards differ by at most one example and nothing is read twice.
    int64_t num_replicas = 1;
    int64_t rank = 0;
    bool pad_shards = true;
  };
  TensorDataLoader(std::shared_ptr<const TensorDataset> dataset, Options options);

  int64_t num_batches() const override;
  // The whole dataset's size (every rank's shard together), as the original's num_examples().
  int64_t num_examples() const override { return dataset_->size(); }
  // The examples this rank reads per epoch.
  int64_t shard_size() const;
  int64_t batch_size() const override { return options_.batch_size; }

  // Fixes the order for `epoch` (a permutation from seed and epoch when shuffling).
  void set_epoch(int64_t epoch);
  // Batch `index` of the current epoch, already on the loader's device.
  Batch batch(int64_t index) const;

  const TensorDataset& dataset() const { return *dataset_; }
  const Options& options() const { return options_; }

 private:
  std::shared_ptr<const TensorDataset> dataset_;
  Options options_;
  torch::Tensor order_;  // int64 indices of this rank's epoch; undefined when sequential and unsharded
};

// Prepares the batches [first, end) of a loader's current epoch ahead of the loop on `workers`
// background threads, at most `depth` batches ahead (--dataloader_num_workers,
// --dataloader_prefetch_factor); next() hands them out in order, so the data is exactly what
// TensorDataLoader::batch() gives. Destroying it stops the threads (an epoch cut short is fine).
class BatchPrefetcher {
 public:
  BatchPrefetcher(const TensorDataLoader& loader, int64_t first, int64_t end, int64_t workers, int64_t depth);
  ~BatchPrefetcher();
  BatchPrefetcher(const BatchPrefetcher&) = delete;
  BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;

  // The next batch; rethrows what a worker threw preparing it.
  Batch next();

 private:
  void work();
  void stop_workers();

  const TensorDataLoader& loader_;
  const int64_t end_, depth_;
  int64_t next_to_prepare_, next_to_hand_out_;
  bool stop_ = false;
  std::map<int64_t, Batch> ready_;
  std::map<int64_t, std::exception_ptr> failed_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::thread> threads_;
};

}  // namespace trainer
