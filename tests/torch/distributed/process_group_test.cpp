// The data-parallel engine in one process: two ranks on two threads, each with its own c10d
// process group over a TCPStore on 127.0.0.1, as two processes would have.

#include "trainer/torch/distributed/process_group.h"

#include <future>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "free_port.h"
#include "trainer/core/argument_spec.h"
#include "trainer/torch/distributed/gradient_reducer.h"

namespace trainer {
namespace {

using std::chrono::seconds;

ProcessInfo rank_of_two(int64_t rank, int port) {
  ProcessInfo p;
  p.rank = p.local_rank = rank;
  p.world_size = p.local_world_size = 2;
  p.master_addr = "127.0.0.1";
  p.master_port = port;
  return p;
}

// Runs body(rank, group) for ranks 0 and 1 at once; returns what each returned.
template <typename Body>
auto on_two_ranks(Body body, seconds timeout = seconds(20)) {
  const int port = test::free_tcp_port();
  auto run = [&](int64_t rank) {
    auto group = ProcessGroup::join(rank_of_two(rank, port), DdpBackend::gloo, timeout, torch::kCPU);
    return body(rank, *group);
  };
  auto one = std::async(std::launch::async, run, 1);
  auto zero = run(0);
  return std::make_pair(std::move(zero), one.get());
}

TEST(ProcessGroup, CollectivesGiveEveryRankTheSameAnswer) {
  auto [zero, one] = on_two_ranks([](int64_t rank, ProcessGroup& group) {
    auto sum = torch::full({3}, static_cast<double>(rank + 1), torch::kDouble);
    group.all_reduce({sum});
    auto max = torch::tensor({static_cast<double>(rank)}, torch::kDouble);
    group.all_reduce({max}, ProcessGroup::Reduce::max);
    auto weights = torch::full({2, 2}, static_cast<float>(rank + 7));
    group.broadcast({weights});
    const auto bytes =
        group.all_gather_bytes(std::string(static_cast<size_t>(rank * 3 + 1), static_cast<char>('a' + rank)));
    return std::make_tuple(sum[0].item<double>(), max.item<double>(), weights.sum().item<float>(), bytes);
  });
  EXPECT_EQ(std::get<0>(zero), 3.0);
  EXPECT_EQ(std::get<1>(zero), 1.0);
  EXPECT_EQ(std::get<2>(zero), 28.0f);  // rank 0's 7s
  EXPECT_EQ(zero, one);
  EXPECT_EQ(std::get<3>(one), (std::vector<std::string>{"a", "bbbb"}));
}

torch::nn::Linear seeded_layer() {
  // The ranks are threads of one process, and share LibTorch's global generator.
  static std::mutex generator;
  std::lock_guard<std::mutex> lock(generator);
  torch::manual_seed(3);
  return torch::nn::Linear(4, 3);
}

torch::Tensor batch_of(int64_t rank) {
  return torch::arange(8, torch::kFloat).reshape({2, 4}) * static_cast<float>(rank + 1) - 3.0f;
}

TEST(GradientReducer, AveragesGradientsAsOneBatchOfBothRanksWould) {
  // Reference: one process, the mean of the two ranks' batch losses.
  auto reference = seeded_layer();
  (reference(batch_of(0)).pow(2).mean() / 2 + reference(batch_of(1)).pow(2).mean() / 2).backward();
  const auto expected_weight = reference->weight.grad().clone();

  auto [zero, one] = on_two_ranks([](int64_t rank, ProcessGroup& group) {
    auto layer = seeded_layer();
    // A bucket per parameter (1-byte caps), so that the hooks start reductions during backward.
    GradientReducer reducer(group, layer->parameters(), {1, 1});
    EXPECT_EQ(reducer.bucket_count(), 2u);
    reducer.prepare_for_backward();
    layer(batch_of(rank)).pow(2).mean().backward();
    reducer.finish_backward();
    EXPECT_EQ(reducer.buckets_started_during_backward(), 2u);
    return layer->weight.grad().clone();
  });
  EXPECT_TRUE(torch::allclose(zero, expected_weight, 1e-6, 1e-6)) << zero << expected_weight;
  EXPECT_TRUE(torch::equal(zero, one));
}

// Three layers: one every rank uses, one only rank 1 uses, one no rank uses.
struct ThreeLayers {
  torch::nn::Linear used = seeded_layer(), on_rank_one = seeded_layer(), unused = seeded_layer();
  std::vector<torch::Tensor> parameters() const {
    std::vector<torch::Tensor> all;
    for (const auto& layer : {used, on_rank_one, unused})
      for (const auto& p : layer->parameters()) all.push_back(p);
    return all;  // weight 0, bias 1; weight 2, bias 3; weight 4, bias 5
  }
  void backward(int64_t rank) {
    auto loss = used(batch_of(rank)).sum();
    if (rank == 1) loss = loss + on_rank_one(batch_of(rank)).sum();
    loss.backward();
  }
};

TEST(GradientReducer, AParameterNoRankUsesKeepsNoGradientAndOneUsedElsewhereAveragesWithZero) {
  auto [zero, one] = on_two_ranks([](int64_t rank, ProcessGroup& group) {
    ThreeLayers model;
    GradientReducer reducer(group, model.parameters(), {1, 1});
    reducer.prepare_for_backward();
    model.backward(rank);
    reducer.finish_backward();
    // Buckets start in order, and the first (the unused layer's, produced last in reverse order)
    // never fills during backward: every all-reduce waits for finish_backward.
    EXPECT_EQ(reducer.buckets_started_during_backward(), 0u);
    EXPECT_FALSE(model.unused->weight.grad().defined());
    EXPECT_FALSE(model.unused->bias.grad().defined());
    EXPECT_EQ(reducer.unused_everywhere(), (std::vector<size_t>{4, 5}));
    return std::make_tuple(model.used->bias.grad().clone(), model.on_rank_one->bias.grad().clone(),
                           reducer.unused_here());
  });
  // Each rank's bias gradient is its batch size, 2: the average is 2; rank 1's alone averages to 1.
  EXPECT_TRUE(torch::equal(std::get<0>(zero), torch::full({3}, 2.0f)));
  EXPECT_TRUE(torch::equal(std::get<1>(zero), torch::full({3}, 1.0f)));
  EXPECT_TRUE(torch::equal(std::get<0>(one), std::get<0>(zero)));
  EXPECT_TRUE(torch::equal(std::get<1>(one), std::get<1>(zero)));
  EXPECT_EQ(std::get<2>(zero), (std::vector<size_t>{2, 3, 4, 5}));
  EXPECT_EQ(std::get<2>(one), (std::vector<size_t>{4, 5}));
}

TEST(GradientReducer, WithoutFindingUnusedParametersOneNoRankUsesGetsAZeroGradient) {
  auto [zero, one] = on_two_ranks([](int64_t rank, ProcessGroup& group) {
    ThreeLayers model;
    GradientReducer reducer(group, model.parameters(), {1, 1, /*find_unused_parameters=*/false});
    reducer.prepare_for_backward();
    model.backward(rank);
    reducer.finish_backward();
    EXPECT_TRUE(reducer.unused_everywhere().empty());
    return std::make_pair(model.unused->bias.grad().defined() ? model.unused->bias.grad().clone() : torch::Tensor(),
                          model.on_rank_one->bias.grad().clone());
  });
  ASSERT_TRUE(zero.first.defined());
  EXPECT_TRUE(torch::equal(zero.first, torch::zeros({3})));
  EXPECT_TRUE(torch::equal(one.first, torch::zeros({3})));
  EXPECT_TRUE(torch::equal(zero.second, torch::full({3}, 1.0f)));
}

TEST(GradientReducer, AccumulationMicroBatchesStayLocalUntilTheLast) {
  auto [zero, one] = on_two_ranks([](int64_t rank, ProcessGroup& group) {
    auto layer = seeded_layer();
    GradientReducer reducer(group, layer->parameters());
    layer(batch_of(rank)).sum().backward();  // not prepared: no communication
    const auto local = layer->bias.grad().clone();
    reducer.prepare_for_backward();
    layer(batch_of(rank)).sum().backward();
    reducer.finish_backward();
    return std::make_pair(local, layer->bias.grad().clone());
  });
  // Both micro-batches' sums per rank (2 rows each: bias grad 2 + 2), averaged: 4.
  EXPECT_TRUE(torch::equal(zero.first, torch::full({3}, 2.0f)));
  EXPECT_TRUE(torch::equal(zero.second, torch::full({3}, 4.0f)));
  EXPECT_TRUE(torch::equal(one.second, zero.second));
}

TEST(ProcessGroup, DifferentModelsAreRefusedNamingTheRank) {
  auto [zero, one] = on_two_ranks([](int64_t rank, ProcessGroup& group) {
    torch::nn::Linear layer(4, rank == 0 ? 3 : 5);
    try {
      group.check_same_parameters(layer->parameters());
    } catch (const DistributedError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  });
  EXPECT_NE(zero.find("rank 1's model differs from rank 0's"), std::string::npos) << zero;
  EXPECT_EQ(zero, one);
}

// The error an all-reduce on `group` ends with ("no error" when it completes).
std::string all_reduce_error(ProcessGroup& group, int64_t values = 4) {
  try {
    auto t = torch::ones({values});
    group.all_reduce({t});
  } catch (const DistributedError& e) {
    return e.what();
  }
  return "no error";
}

// Rank 0 at `port`, while rank one (started on the same port, on another thread) joins. Null when
// the port was taken between free_tcp_port() and the store's bind (other tests run beside this
// one): rank one has then given up too, and the caller tries another port. Any other failure is
// thrown, after rank one's thread has ended, so that it reaches the test instead of terminate().
template <typename RankOne>
std::unique_ptr<ProcessGroup> join_rank_zero(int port, std::future<RankOne>& rank_one) {
  try {
    return ProcessGroup::join(rank_of_two(0, port), DdpBackend::gloo, seconds(20), torch::kCPU);
  } catch (const DistributedError& e) {
    try {
      rank_one.get();
    } catch (const std::exception&) {  // its rendezvous could not complete either
    }
    if (std::string(e.what()).find("already in use") != std::string::npos) return nullptr;
    throw;
  }
}

std::string error_on_rank_zero_when_rank_one(bool reports) {
  for (;;) {
    const int port = test::free_tcp_port();
    // Rank one joins, optionally reports a failure, and goes: its connections close, as when the
    // process dies. Its future is ready once it has gone.
    auto rank_one = std::async(std::launch::async, [&] {
      auto group = ProcessGroup::join(rank_of_two(1, port), DdpBackend::gloo, seconds(20), torch::kCPU);
      if (reports) group->report_failure("disk full");
    });
    auto group = join_rank_zero(port, rank_one);
    if (!group) continue;
    rank_one.get();
    return all_reduce_error(*group);
  }
}

TEST(ProcessGroup, ALostPeerIsNamed) {
  const auto message = error_on_rank_zero_when_rank_one(/*reports=*/false);
  EXPECT_NE(message.find("rank 1 stopped responding"), std::string::npos) << message;
  EXPECT_NE(message.find("--resume_from_checkpoint last"), std::string::npos) << message;
}

TEST(ProcessGroup, APeerThatFailedIsNamedWithItsReason) {
  const auto message = error_on_rank_zero_when_rank_one(/*reports=*/true);
  EXPECT_NE(message.find("rank 1 failed: disk full"), std::string::npos) << message;
}

TEST(ProcessGroup, TheStoreHostsOwnFailureReachesThePeers) {
  // Rank 0 serves the store: its reason must be read before the store goes with it.
  for (;;) {
    const int port = test::free_tcp_port();
    std::promise<void> joined;
    auto rank_one = std::async(std::launch::async, [&] {
      auto group = ProcessGroup::join(rank_of_two(1, port), DdpBackend::gloo, seconds(20), torch::kCPU);
      joined.set_value();
      return all_reduce_error(*group);
    });
    auto group = join_rank_zero(port, rank_one);
    if (!group) continue;
    joined.get_future().wait();
    const auto started = std::chrono::steady_clock::now();
    group->report_failure("disk full");
    const auto lingered = std::chrono::steady_clock::now() - started;
    const std::string after = all_reduce_error(*group, 1);
    const std::string message = rank_one.get();
    EXPECT_NE(message.find("rank 0 failed: disk full"), std::string::npos) << message;
    EXPECT_NE(after.find("its collectives were closed after it failed"), std::string::npos) << after;
    EXPECT_LT(lingered, seconds(2));  // until rank 1 had read it, not the whole window
    return;
  }
}

TEST(ProcessGroup, ARendezvousThatNobodyJoinsTimesOut) {
  const auto started = std::chrono::steady_clock::now();
  try {
    ProcessGroup::join(rank_of_two(0, test::free_tcp_port()), DdpBackend::gloo, seconds(2), torch::kCPU);
    FAIL() << "joined alone";
  } catch (const DistributedError& e) {
    EXPECT_NE(std::string(e.what()).find("did not complete within --ddp_timeout 2 s"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(10));
}

TEST(ProcessGroup, BackendsThisBuildCannotRunAreRefused) {
  EXPECT_EQ(resolve_ddp_backend(std::nullopt, torch::kCPU), DdpBackend::gloo);
  EXPECT_THROW(resolve_ddp_backend(DdpBackend::mpi, torch::kCPU), ArgumentError);
  EXPECT_THROW(resolve_ddp_backend(DdpBackend::nccl, torch::kCPU), ArgumentError);
}

}  // namespace
}  // namespace trainer
