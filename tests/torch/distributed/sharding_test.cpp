// Each rank's share of the data, as torch's DistributedSampler gives it (its values, the same in every version:
// DistributedSampler(range(10), num_replicas=3, rank=r, shuffle=False)).

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "trainer/torch/data_loader.h"

namespace trainer {
namespace {

std::shared_ptr<const TensorDataset> numbered(int64_t n) {
  return std::make_shared<TensorDataset>(torch::arange(n, torch::kFloat).unsqueeze(1), torch::arange(n, torch::kLong));
}

std::vector<int64_t> labels_of(const TensorDataLoader& loader) {
  std::vector<int64_t> out;
  for (int64_t b = 0; b < loader.num_batches(); ++b) {
    const auto labels = loader.batch(b).labels;
    for (int64_t i = 0; i < labels.size(0); ++i) out.push_back(labels[i].item<int64_t>());
  }
  return out;
}

TensorDataLoader::Options shard(int64_t rank, int64_t replicas, bool pad) {
  TensorDataLoader::Options o;
  o.batch_size = 2;
  o.num_replicas = replicas;
  o.rank = rank;
  o.pad_shards = pad;
  return o;
}

TEST(Sharding, TrainingShardsAreTorchsDistributedSamplers) {
  const std::vector<std::vector<int64_t>> expected = {{0, 3, 6, 9}, {1, 4, 7, 0}, {2, 5, 8, 1}};
  for (int64_t r = 0; r < 3; ++r) {
    TensorDataLoader loader(numbered(10), shard(r, 3, true));
    EXPECT_EQ(loader.num_batches(), 2);
    EXPECT_EQ(loader.num_examples(), 10);  // the whole dataset, as the original's num_examples
    EXPECT_EQ(labels_of(loader), expected[static_cast<size_t>(r)]);
  }
}

TEST(Sharding, EvaluationShardsReadEveryExampleOnce) {
  std::vector<int64_t> seen;
  for (int64_t r = 0; r < 3; ++r) {
    TensorDataLoader loader(numbered(10), shard(r, 3, false));
    const auto mine = labels_of(loader);
    EXPECT_EQ(static_cast<int64_t>(mine.size()), loader.shard_size());
    seen.insert(seen.end(), mine.begin(), mine.end());
  }
  std::sort(seen.begin(), seen.end());
  std::vector<int64_t> all(10);
  std::iota(all.begin(), all.end(), 0);
  EXPECT_EQ(seen, all);
}

TEST(Sharding, ShuffledShardsSplitOneEpochOrderThatEveryRankShares) {
  // Rank r's examples are positions r, r + 2, ... of the single-process order of the same epoch.
  auto whole = shard(0, 1, true);
  whole.shuffle = true;
  whole.seed = 7;
  whole.batch_size = 10;
  TensorDataLoader single(numbered(10), whole);
  single.set_epoch(3);
  const auto order = labels_of(single);
  for (int64_t r = 0; r < 2; ++r) {
    auto o = shard(r, 2, true);
    o.shuffle = true;
    o.seed = 7;
    TensorDataLoader loader(numbered(10), o);
    loader.set_epoch(3);
    std::vector<int64_t> expected;
    for (size_t i = static_cast<size_t>(r); i < order.size(); i += 2) expected.push_back(order[i]);
    EXPECT_EQ(labels_of(loader), expected);
  }
}

TEST(Sharding, DropLastDropsEachRanksIncompleteBatch) {
  auto o = shard(1, 3, true);
  o.drop_last = true;
  o.batch_size = 3;
  TensorDataLoader loader(numbered(10), o);  // 4 examples per rank: one batch of 3
  EXPECT_EQ(loader.num_batches(), 1);
  EXPECT_EQ(labels_of(loader), (std::vector<int64_t>{1, 4, 7}));
}

}  // namespace
}  // namespace trainer
