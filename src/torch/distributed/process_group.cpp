#include "trainer/torch/distributed/process_group.h"

// The one file that includes c10d's headers (they cost ~20 s of compile time each): rendezvous,
// the process group and its collectives, and the diagnosis of a lost peer.

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include <torch/torch.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/comm.hpp>
#ifdef TRAINER_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "trainer/core/argument_spec.h"

namespace trainer {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// DDP's buffer for coalescing the start-up broadcast (250 MiB; tensors beyond it go in further messages).
constexpr size_t kBroadcastBufferBytes = size_t{250} << 20;
const char* const kSurvivorMark = "survivor:";

std::string first_line(const std::string& text) {
  const auto end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

std::string error_text(const std::exception& e) {
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) return first_line(c10->what_without_backtrace());
  return first_line(e.what());
}

std::vector<uint8_t> to_bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string from_bytes(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

bool is_loopback(const std::string& host) { return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1"; }

std::shared_ptr<::gloo::transport::Device> gloo_device(const ProcessInfo& process) {
  // GLOO_SOCKET_IFNAME as torch.distributed reads it; a single box talks over loopback.
  const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
  if (ifname && *ifname) {
    const std::string first(ifname);
    return c10d::ProcessGroupGloo::createDeviceForInterface(first.substr(0, first.find(',')));
  }
  if (is_loopback(process.master_addr)) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

// Since LibTorch 2.0 Gloo and NCCL are backends of a ProcessGroup, which routes each collective to
// the backend registered for its tensors' device type.
c10::intrusive_ptr<c10d::ProcessGroup> group_of(const c10::intrusive_ptr<c10d::Store>& store,
                                                const ProcessInfo& process, c10d::ProcessGroup::BackendType type,
                                                const c10::intrusive_ptr<c10d::Backend>& backend,
                                                std::initializer_list<c10::DeviceType> device_types) {
  auto group = c10::make_intrusive<c10d::ProcessGroup>(store, static_cast<int>(process.rank),
                                                       static_cast<int>(process.world_size));
  group->setDefaultBackend(type);
  for (auto device_type : device_types) group->setBackend(device_type, type, backend);
  return group;
}

c10::intrusive_ptr<c10d::ProcessGroup> gloo_group(const c10::intrusive_ptr<c10d::Store>& store,
                                                  const ProcessInfo& process, milliseconds timeout) {
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  options->devices.push_back(gloo_device(process));
  auto backend = c10::make_intrusive<c10d::ProcessGroupGloo>(store, static_cast<int>(process.rank),
                                                             static_cast<int>(process.world_size), options);
  // Gloo reduces CUDA tensors too (through host copies), as torch.distributed's "gloo" does.
  return group_of(store, process, c10d::ProcessGroup::BackendType::GLOO, backend,
                  {c10::DeviceType::CPU, c10::DeviceType::CUDA});
}

#ifdef TRAINER_WITH_NCCL
c10::intrusive_ptr<c10d::ProcessGroup> nccl_group(const c10::intrusive_ptr<c10d::Store>& store,
                                                  const ProcessInfo& process, milliseconds timeout) {
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  auto backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, static_cast<int>(process.rank),
                                                             static_cast<int>(process.world_size), options);
  return group_of(store, process, c10d::ProcessGroup::BackendType::NCCL, backend, {c10::DeviceType::CUDA});
}
#endif

c10d::AllreduceOptions reduce_options(ProcessGroup::Reduce op) {
  c10d::AllreduceOptions options;
  options.reduceOp = op == ProcessGroup::Reduce::sum ? c10d::ReduceOp::SUM : c10d::ReduceOp::MAX;
  return options;
}

}  // namespace

bool nccl_available() {
#ifdef TRAINER_WITH_NCCL
  return true;
#else
  return false;
#endif
}

std::string linked_nccl_version() {
#ifdef TRAINER_WITH_NCCL
  return c10d::getNcclVersion();
#else
  return "";
#endif
}

DdpBackend resolve_ddp_backend(std::optional<DdpBackend> requested, const torch::Device& device) {
  if (!requested) return device.is_cuda() && nccl_available() ? DdpBackend::nccl : DdpBackend::gloo;
  if (*requested == DdpBackend::gloo) return DdpBackend::gloo;
  if (*requested == DdpBackend::nccl) {
    if (!nccl_available())
      throw ArgumentError(
          "--ddp_backend nccl: this build of LibTorch has no NCCL (it has no CUDA); use --ddp_backend gloo");
    if (!device.is_cuda())
      throw ArgumentError(
          "--ddp_backend nccl: needs CUDA devices, and this run trains on the CPU; use --ddp_backend gloo");
    return DdpBackend::nccl;
  }
  throw ArgumentError("--ddp_backend " + to_string(*requested) + ": not available in this build; use gloo" +
                      (nccl_available() ? " or nccl" : ""));
}

struct ProcessGroup::Impl {
  ProcessInfo process;
  DdpBackend backend = DdpBackend::gloo;
  torch::Device device{torch::kCPU};
  milliseconds timeout{0};
  milliseconds window{0};  // how long a rank that lost a peer waits to hear who else is still there
  bool broken = false;     // a collective failed: the group is left to the process's exit
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> group;
  // Host numbers (control flags, loss sums, byte strings) go through Gloo even under NCCL: through
  // NCCL they would be copied to the device and back, a device sync on every step.
  c10::intrusive_ptr<c10d::ProcessGroup> host_group;

  static std::string status_key(int64_t rank) { return "trainer/status/" + std::to_string(rank); }
  // How many ranks have read the others' statuses after losing a peer.
  static constexpr const char* kReadStatusesKey = "trainer/statuses_read";

  bool serves_store() const { return process.rank == 0 && !process.agent_store; }
  void close_and_wait_for_readers();

  // Runs a collective; a failure becomes a DistributedError that names the lost rank.
  template <typename F>
  auto guarded(const std::string& during, F&& call) -> decltype(call()) {
    if (!group || !host_group)
      throw DistributedError("data-parallel training stopped on " + process.describe() +
                             ": its collectives were closed after it failed (during " + during + ")");
    try {
      return call();
    } catch (const DistributedError&) {
      throw;
    } catch (const std::exception& e) {
      lost(during, error_text(e));
    }
  }

  [[noreturn]] void lost(const std::string& during, const std::string& cause);
  // On the host group, host tensors stay where they are.
  std::vector<torch::Tensor> all_gather(c10d::ProcessGroup& on, const torch::Tensor& tensor);
  std::string who_is_lost();
  // NCCL reduces CUDA tensors only: host tensors travel through the group's device.
  torch::Tensor on_group_device(const torch::Tensor& t) const {
    return backend == DdpBackend::nccl && !t.is_cuda() ? t.to(device) : t;
  }
  std::string store_description() const { return process.master_addr + ":" + std::to_string(process.master_port); }
};

class WorkInFlight : public PendingReduction {
 public:
  WorkInFlight(ProcessGroup::Impl& impl, c10::intrusive_ptr<c10d::Work> work, const char* during)
      : impl_(impl), work_(std::move(work)), during_(during) {}
  void wait() override {
    impl_.guarded(during_, [&] { work_->wait(); });
  }

 private:
  ProcessGroup::Impl& impl_;
  c10::intrusive_ptr<c10d::Work> work_;
  const char* during_;  // a literal: one of these per bucket per step
};

void ProcessGroup::Impl::lost(const std::string& during, const std::string& cause) {
  broken = true;
  const std::string who = who_is_lost();
  throw DistributedError("data-parallel training stopped on " + process.describe() + ": " + who + " (during " + during +
                         ": " + cause +
                         "). The other ranks stop too; resume from the newest checkpoint with "
                         "--resume_from_checkpoint last (torchrun --max_restarts does it for you)");
}

// Each rank that lost a peer says so in the store, then listens for `window`: a peer that wrote
// a failure failed on its own, a peer that says nothing is gone (killed, crashed, or hung).
std::string ProcessGroup::Impl::who_is_lost() {
  std::map<int64_t, std::string> reasons;
  std::vector<int64_t> silent;
  try {
    store->set(status_key(process.rank), to_bytes(kSurvivorMark));
    std::vector<int64_t> waiting;
    for (int64_t r = 0; r < process.world_size; ++r)
      if (r != process.rank) waiting.push_back(r);
    const auto deadline = Clock::now() + window;
    while (!waiting.empty()) {
      for (auto it = waiting.begin(); it != waiting.end();) {
        if (store->check({status_key(*it)})) {
          reasons[*it] = from_bytes(store->get(status_key(*it)));
          it = waiting.erase(it);
        } else {
          ++it;
        }
      }
      if (waiting.empty() || Clock::now() >= deadline) break;
      std::this_thread::sleep_for(milliseconds(100));
    }
    silent = waiting;
    store->add(kReadStatusesKey, 1);  // the store's host may be waiting for this to exit
  } catch (const std::exception&) {
    return "the rendezvous store at " + store_description() + " is unreachable, so " +
           (process.agent_store ? std::string("the torchrun agent that serves it is gone")
                                : std::string("rank 0, which serves it, is lost (killed, crashed, or hung)"));
  }
  std::vector<std::string> parts;
  for (const auto& [rank, reason] : reasons)
    if (reason.rfind(kSurvivorMark, 0) != 0) parts.push_back("rank " + std::to_string(rank) + " failed: " + reason);
  for (int64_t rank : silent)
    parts.push_back("rank " + std::to_string(rank) + " stopped responding (killed, crashed, or hung)");
  if (parts.empty()) return "a peer was lost";
  std::string text;
  for (const auto& p : parts) text += (text.empty() ? "" : "; ") + p;
  return text;
}

ProcessGroup::ProcessGroup(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProcessGroup::~ProcessGroup() {
  // After a failed collective, c10d's destructor would run every queued one to its timeout before
  // returning: the group is left for the process's exit to clean up instead.
  if (impl_ && impl_->broken) {
    impl_->group.release();
    impl_->host_group.release();
  }
}

std::unique_ptr<ProcessGroup> ProcessGroup::join(const ProcessInfo& process, std::optional<DdpBackend> backend,
                                                 std::chrono::seconds timeout, const torch::Device& device) {
  auto impl = std::make_unique<Impl>();
  impl->process = process;
  impl->backend = resolve_ddp_backend(backend, device);
  impl->device = device;
  // A hung peer is found out within --ddp_timeout: a collective waits 3/4 of it, the diagnosis
  // at most 1/8 (and 2 s), which leaves time to exit.
  const auto total = std::chrono::duration_cast<milliseconds>(timeout);
  const auto deadline = Clock::now() + total;
  impl->timeout = total * 3 / 4;
  impl->window = std::min<milliseconds>(milliseconds(2000), total / 8);
  const std::string where = impl->store_description();
  c10::intrusive_ptr<c10d::Store> tcp;
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<uint16_t>(process.master_port);
    // Under torchrun its agent serves the store; launched directly, rank 0 does.
    options.isServer = process.rank == 0 && !process.agent_store;
    options.numWorkers = static_cast<size_t>(process.world_size);
    options.waitWorkers = !process.agent_store;
    // The store's wait for every rank overshoots its timeout by a second or so (it connects to
    // itself first, then polls): it gets the collectives' share, so that the whole rendezvous
    // still ends within --ddp_timeout.
    options.timeout = impl->timeout;
    tcp = c10::make_intrusive<c10d::TCPStore>(process.master_addr, options);
  } catch (const std::exception& e) {
    const std::string cause = error_text(e);
    if (cause.find("ddress already in use") != std::string::npos)
      throw DistributedError("MASTER_PORT=" + std::to_string(process.master_port) + " is already in use on " +
                             process.master_addr + ": pick a free port for every rank");
    throw DistributedError("the rendezvous at " + where + " did not complete within --ddp_timeout " +
                           std::to_string(timeout.count()) + " s (" + process.describe() + "): " + cause +
                           "; start every rank with the same MASTER_ADDR, MASTER_PORT and WORLD_SIZE");
  }
  // Keys of earlier torchrun attempts stay in the agent's store: each attempt has its own prefix.
  impl->store =
      c10::make_intrusive<c10d::PrefixStore>("/trainer/attempt_" + std::to_string(process.restart_count), tcp);
  try {
    // The rendezvous as a whole honours --ddp_timeout: the backends connect within what the store's
    // rendezvous left of it (a peer stopped in between is found out in time), then collectives get
    // their own share.
    const auto left = std::max(milliseconds(500), std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
    c10d::StoreTimeoutGuard connecting(*tcp, left);
    if (impl->backend == DdpBackend::nccl) {
#ifdef TRAINER_WITH_NCCL
      impl->group = nccl_group(impl->store, process, impl->timeout);
      impl->host_group = gloo_group(c10::make_intrusive<c10d::PrefixStore>("host", impl->store), process, left);
#endif
    } else {
      impl->group = gloo_group(impl->store, process, left);
      impl->host_group = impl->group;
    }
    impl->host_group->getDefaultBackend()->setTimeout(impl->timeout);
  } catch (const std::exception& e) {
    throw DistributedError("the rendezvous at " + where + " did not complete within --ddp_timeout " +
                           std::to_string(timeout.count()) + " s (" + process.describe() + "): its " +
                           to_string(impl->backend) + " process group could not connect to every rank (" +
                           error_text(e) +
                           "); start every rank with the same MASTER_ADDR, MASTER_PORT and WORLD_SIZE, and check that "
                           "they reach each other");
  }
  return std::unique_ptr<ProcessGroup>(new ProcessGroup(std::move(impl)));
}

int64_t ProcessGroup::rank() const { return impl_->process.rank; }
int64_t ProcessGroup::world_size() const { return impl_->process.world_size; }
DdpBackend ProcessGroup::backend() const { return impl_->backend; }

void ProcessGroup::broadcast(const std::vector<torch::Tensor>& tensors) {
  if (tensors.empty()) return;
  torch::NoGradGuard no_grad;  // parameters are leaves that require gradients: written in place
  impl_->guarded("the broadcast from rank 0",
                 [&] { c10d::broadcast_coalesced(impl_->group, tensors, kBroadcastBufferBytes, 0); });
}

void ProcessGroup::all_reduce(const std::vector<torch::Tensor>& tensors, Reduce op) {
  if (tensors.empty()) return;
  std::vector<torch::Tensor> list;
  for (const auto& t : tensors) list.push_back(impl_->on_group_device(t));
  auto options = reduce_options(op);
  impl_->guarded("an all-reduce", [&] { impl_->group->allreduce(list, options)->wait(); });
  for (size_t i = 0; i < tensors.size(); ++i)
    if (!list[i].is_same(tensors[i])) tensors[i].copy_(list[i]);
}

std::vector<double> ProcessGroup::all_reduce_values(std::vector<double> values, Reduce op) {
  std::vector<torch::Tensor> list = {torch::tensor(values, torch::kDouble)};
  auto options = reduce_options(op);
  impl_->guarded("an all-reduce", [&] { impl_->host_group->allreduce(list, options)->wait(); });
  const auto& tensor = list[0];
  std::copy_n(tensor.data_ptr<double>(), values.size(), values.begin());
  return values;
}

std::unique_ptr<PendingReduction> ProcessGroup::all_reduce_async(const torch::Tensor& tensor) {
  std::vector<torch::Tensor> list = {tensor};
  const char* during = "the gradient all-reduce";
  auto work = impl_->guarded(during, [&] { return impl_->group->allreduce(list); });
  return std::make_unique<WorkInFlight>(*impl_, std::move(work), during);
}

std::unique_ptr<PendingReduction> ProcessGroup::all_reduce_host_async(const torch::Tensor& host_tensor) {
  std::vector<torch::Tensor> list = {host_tensor};
  const char* during = "an all-reduce of host numbers";
  auto work = impl_->guarded(during, [&] { return impl_->host_group->allreduce(list); });
  return std::make_unique<WorkInFlight>(*impl_, std::move(work), during);
}

std::vector<torch::Tensor> ProcessGroup::Impl::all_gather(c10d::ProcessGroup& on, const torch::Tensor& tensor) {
  std::vector<torch::Tensor> input = {&on == host_group.get() ? tensor.contiguous()
                                                              : on_group_device(tensor.contiguous())};
  std::vector<std::vector<torch::Tensor>> output(1);
  for (int64_t r = 0; r < process.world_size; ++r) output[0].push_back(torch::empty_like(input[0]));
  guarded("an all-gather", [&] { on.allgather(output, input)->wait(); });
  for (auto& t : output[0]) t = t.to(tensor.device());
  return output[0];
}

std::vector<torch::Tensor> ProcessGroup::all_gather(const torch::Tensor& tensor) {
  return impl_->all_gather(*impl_->group, tensor);
}

std::vector<std::string> ProcessGroup::all_gather_bytes(const std::string& bytes) {
  auto& host = *impl_->host_group;
  const auto lengths = impl_->all_gather(host, torch::tensor({static_cast<int64_t>(bytes.size())}, torch::kLong));
  int64_t longest = 0;
  for (const auto& l : lengths) longest = std::max(longest, l.item<int64_t>());
  auto padded = torch::zeros({std::max<int64_t>(longest, 1)}, torch::kUInt8);
  std::copy(bytes.begin(), bytes.end(), padded.data_ptr<uint8_t>());
  const auto gathered = impl_->all_gather(host, padded);
  std::vector<std::string> out;
  for (size_t r = 0; r < gathered.size(); ++r) {
    const auto* data = gathered[r].data_ptr<uint8_t>();
    out.emplace_back(reinterpret_cast<const char*>(data), static_cast<size_t>(lengths[r].item<int64_t>()));
  }
  return out;
}

void ProcessGroup::check_same_parameters(const std::vector<torch::Tensor>& parameters) {
  // Count, values and a digest of the shapes and types, compared with rank 0's.
  std::ostringstream layout;
  int64_t values = 0;
  for (const auto& p : parameters) {
    layout << p.sizes() << p.scalar_type() << ';';
    values += p.numel();
  }
  const auto digest = static_cast<int64_t>(std::hash<std::string>{}(layout.str()) & 0x7fffffffffffffffULL);
  const auto mine = torch::tensor({static_cast<int64_t>(parameters.size()), values, digest}, torch::kLong);
  const auto all = impl_->all_gather(*impl_->host_group, mine);
  const auto* zero = all[0].data_ptr<int64_t>();
  for (size_t r = 1; r < all.size(); ++r) {
    const auto* other = all[r].data_ptr<int64_t>();
    if (std::equal(zero, zero + 3, other)) continue;
    throw DistributedError("rank " + std::to_string(r) + "'s model differs from rank 0's: " + std::to_string(other[0]) +
                           " parameters (" + std::to_string(other[1]) + " values) against " + std::to_string(zero[0]) +
                           " (" + std::to_string(zero[1]) +
                           ") or other shapes; start every rank with the same --model and data");
  }
}

void ProcessGroup::report_failure(const std::string& reason) noexcept {
  try {
    impl_->store->set(Impl::status_key(rank()), to_bytes(first_line(reason)));
    // A failed collective means the peers know already (and closing would wait for its queue).
    if (impl_->serves_store() && !impl_->broken) impl_->close_and_wait_for_readers();
  } catch (...) {
    // The store is gone with its host: the others find that out themselves.
  }
}

void ProcessGroup::Impl::close_and_wait_for_readers() {
  // The others may wait in a collective for this rank: closing its connections makes theirs fail
  // now, and they then read its reason from the store, which dies with this process.
  group.reset();
  host_group.reset();
  const auto deadline = Clock::now() + window;
  while (store->add(kReadStatusesKey, 0) < process.world_size - 1 && Clock::now() < deadline)
    std::this_thread::sleep_for(milliseconds(20));
}

}  // namespace trainer
