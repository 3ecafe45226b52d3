#pragma once
// Where measured energy comes from: RAPL counters under /sys/class/powercap, the machine's or the
// process's CPU time, memory size, and NVIDIA GPUs through NVML (loaded at run time, when
// libnvidia-ml.so.1 exists; nothing is linked at build time).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace trainer {

struct RaplDomain {
  std::string name;                   // package-0, dram, psys, ...
  std::filesystem::path energy_file;  // cumulative microjoules
  uint64_t max_energy_range_uj = 0;
  bool mmio = false;
};

// The domains CodeCarbon reads: package domains (and dram when asked), psys only when preferred
// or when there is no package domain; one domain a name, MMIO preferred. Domains whose counter
// cannot be read are left out (RAPL is often root-only: chmod -R a+r /sys/class/powercap/*).
std::vector<RaplDomain> find_rapl_domains(const std::filesystem::path& powercap_root, bool include_dram,
                                          bool prefer_psys);

// Energy since the previous call, summed over the domains, with wrap-around handled.
class RaplMeter {
 public:
  explicit RaplMeter(std::vector<RaplDomain> domains);
  bool empty() const { return domains_.empty(); }
  double joules_since_last();

 private:
  std::vector<RaplDomain> domains_;
  std::vector<uint64_t> last_;
};

// Busy share of all CPUs since the previous call, from /proc/stat (percent).
class MachineCpuLoad {
 public:
  explicit MachineCpuLoad(std::string proc_stat = "/proc/stat");
  double percent_since_last();

 private:
  std::string path_;
  uint64_t last_busy_ = 0, last_total_ = 0;
};

// CPU seconds this process and its waited-for children used so far.
double process_cpu_seconds();

struct MemoryInfo {
  double total_gb = 0;  // GiB, as CodeCarbon's ram_total_size
  double available_gb = 0;
};
MemoryInfo read_meminfo(const std::string& path = "/proc/meminfo");
double process_rss_gb();

std::string cpu_model_name(const std::string& cpuinfo = "/proc/cpuinfo");
std::string os_description();  // like Python's platform.platform(): Linux-<release>-<machine>

// NVIDIA GPUs through NVML. Empty (count 0) when the library or a driver is missing.
class NvmlGpus {
 public:
  NvmlGpus();
  ~NvmlGpus();
  int count() const { return static_cast<int>(devices_.size()); }
  std::string model() const { return model_; }
  // Energy of all GPUs since the previous call (J), from each device's total-energy counter.
  double joules_since_last();

 private:
  struct Api;
  std::unique_ptr<Api> api_;
  std::vector<void*> devices_;
  std::vector<unsigned long long> last_mj_;
  std::string model_;
};

}  // namespace trainer
