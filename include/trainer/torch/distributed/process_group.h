#pragma once
// ProcessGroup: this process's place in a data-parallel job, on PyTorch's own c10d engine. Joining
// rendezvouses through c10d's TCPStore at MASTER_ADDR:MASTER_PORT (torchrun's agent store when
// torchrun launched the job) and opens a ProcessGroupGloo, or a ProcessGroupNCCL on CUDA when
// LibTorch was built with it. The collectives here are the ones the Trainer needs; every one waits
// at most --ddp_timeout for a peer, and a peer that is lost (killed, crashed, hung) or that failed
// ends the call with a DistributedError naming its rank, never a silent hang.
//
// c10d's headers stay in process_group.cpp: this header needs only tensor types.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/types.h>

#include "trainer/core/choices.h"
#include "trainer/core/process_info.h"

namespace trainer {

// A peer of the job was lost or failed, or the rendezvous did not complete; what() names the rank
// and what to do. The program exits with status 5.
class DistributedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The backend for `device`: `requested`, or nccl on CUDA when this build has it, else gloo. Throws
// ArgumentError for a backend this build cannot run or that does not fit the device.
DdpBackend resolve_ddp_backend(std::optional<DdpBackend> requested, const torch::Device& device);
// Whether LibTorch was built with NCCL (decided when this library was compiled).
bool nccl_available();
// The version of the NCCL library in the link ("2.28.9"); empty without NCCL.
std::string linked_nccl_version();

// An all-reduce in flight.
class PendingReduction {
 public:
  virtual ~PendingReduction() = default;
  // Waits until the result is in the tensor; throws DistributedError when a peer is lost.
  virtual void wait() = 0;
};

class ProcessGroup {
 public:
  enum class Reduce { sum, max };

  // Rendezvous and group for `process` (distributed() must be true). Throws DistributedError when
  // the other ranks do not join within `timeout`, ArgumentError for a bad --ddp_backend.
  static std::unique_ptr<ProcessGroup> join(const ProcessInfo& process, std::optional<DdpBackend> backend,
                                            std::chrono::seconds timeout, const torch::Device& device);
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int64_t rank() const;
  int64_t world_size() const;
  DdpBackend backend() const;

  // Rank 0's values into `tensors` on every rank (coalesced into few messages), in place.
  void broadcast(const std::vector<torch::Tensor>& tensors);
  // The element-wise sum or max over ranks, in place.
  void all_reduce(const std::vector<torch::Tensor>& tensors, Reduce op = Reduce::sum);
  // Host numbers (counts, flags, sums) reduced element-wise over ranks; returns the result. They
  // travel through Gloo under every backend, so that NCCL jobs do not sync the device for them.
  std::vector<double> all_reduce_values(std::vector<double> values, Reduce op = Reduce::sum);
  // Starts a sum over ranks of `tensor`, in place; wait() on the result before reading it.
  std::unique_ptr<PendingReduction> all_reduce_async(const torch::Tensor& tensor);
  // The same for a host tensor of counts or flags, through the host numbers' Gloo group.
  std::unique_ptr<PendingReduction> all_reduce_host_async(const torch::Tensor& host_tensor);
  // Every rank's `tensor` (the same shape on every rank), indexed by rank.
  std::vector<torch::Tensor> all_gather(const torch::Tensor& tensor);
  // Every rank's bytes (any length), indexed by rank (through Gloo, as host numbers).
  std::vector<std::string> all_gather_bytes(const std::string& bytes);
  // Throws DistributedError unless every rank's parameters have rank 0's count, shapes and types.
  void check_same_parameters(const std::vector<torch::Tensor>& parameters);

  // Tells the other ranks, if they are still reachable, that this one stops because of `reason`,
  // so that their errors name it. Never throws. On the rank that serves the rendezvous store
  // (rank 0 without torchrun) it then closes the collectives, so that the others' fail at once, and
  // keeps the store up until each has read the reason (or a few seconds): after that call this
  // group runs no more collectives.
  void report_failure(const std::string& reason) noexcept;

  struct Impl;

 private:
  explicit ProcessGroup(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace trainer
