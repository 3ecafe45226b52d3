#pragma once
// GradientReducer: averages gradients over the ranks of a ProcessGroup while the backward pass is
// still running, as DDP's reducer does. The parameters are cut into buckets in reverse order (the
// order autograd produces their gradients): the first bucket up to 1 MiB, the others up to
// --ddp_bucket_cap_mb (25 MiB by default). A hook on each parameter's gradient accumulator copies
// the gradient, divided by the world size, into its bucket; a full bucket starts its all-reduce
// at once, in bucket order on every rank, while autograd goes on with earlier layers.
// finish_backward() waits for the buckets and leaves every gradient a view of its averaged bucket.
//
// Only the backward passes between prepare_for_backward() and finish_backward() are reduced, so
// gradient accumulation communicates on the last micro-batch of a step only. A parameter that gets
// no gradient on a rank counts as zero there. With find_unused_parameters (DDP's option of that
// name, on by default as the original's Trainer sets it), the ranks also sum which parameters each
// used, and a parameter that no rank used keeps its gradient as it was (none after zero_grad), as
// in a single process, instead of an averaged zero that an optimizer's momentum and weight decay
// would act on.

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include <torch/types.h>

namespace trainer {

class ProcessGroup;

class GradientReducer {
 public:
  static constexpr int64_t kFirstBucketBytes = int64_t{1} << 20;
  static constexpr int64_t kDefaultBucketBytes = int64_t{25} << 20;

  struct Options {
    int64_t bucket_bytes = kDefaultBucketBytes;
    int64_t first_bucket_bytes = kFirstBucketBytes;
    // One small all-reduce of host counts per reduced backward pass, started after the last
    // bucket's and waited for beside them.
    bool find_unused_parameters = true;
  };

  GradientReducer(ProcessGroup& group, std::vector<torch::Tensor> parameters, Options options);
  GradientReducer(ProcessGroup& group, std::vector<torch::Tensor> parameters)
      : GradientReducer(group, std::move(parameters), Options{}) {}
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // The next backward pass's gradients are all-reduced as they are produced.
  void prepare_for_backward();
  // Starts what the backward pass did not (buckets with parameters that got no gradient), waits
  // for every bucket and sets the averaged gradients. Throws DistributedError when a peer is lost.
  void finish_backward();

  size_t bucket_count() const;
  // How many buckets of the last reduced backward pass started their all-reduce before it ended
  // (the rest started in finish_backward): what overlap with the backward pass there can be.
  size_t buckets_started_during_backward() const;
  // The parameters (positions in the constructor's list) that got no gradient on this rank in the
  // last reduced backward pass, and, with find_unused_parameters, those that got none on any rank.
  std::vector<size_t> unused_here() const;
  std::vector<size_t> unused_everywhere() const;
  // Time spent in finish_backward() waiting for all-reduces that the backward pass did not hide.
  std::chrono::duration<double> exposed_wait() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace trainer
