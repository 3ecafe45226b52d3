#include "integrations/codecarbon/energy_sources.h"

#include <dlfcn.h>
#include <sys/resource.h>
#include <sys/utsname.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

namespace trainer {
namespace {

namespace fs = std::filesystem;

bool read_u64(const fs::path& path, uint64_t& out) {
  std::ifstream in(path);
  return static_cast<bool>(in >> out);
}

std::string read_line(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

std::vector<RaplDomain> find_rapl_domains(const fs::path& root, bool include_dram, bool prefer_psys) {
  // Domains sit at the top (intel-rapl:0), inside a controller directory (intel-rapl/intel-rapl:0)
  // and as sub-domains (intel-rapl:0/intel-rapl:0:2 for dram); look two levels down.
  std::vector<RaplDomain> found;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return {};
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it.depth() > 2) {
      it.disable_recursion_pending();
      continue;
    }
    const std::string dir = it->path().filename().string();
    if (dir.rfind("intel-rapl", 0) != 0 || dir.find(':') == std::string::npos) continue;
    RaplDomain d;
    d.name = read_line(it->path() / "name");
    d.energy_file = it->path() / "energy_uj";
    d.mmio = dir.rfind("intel-rapl-mmio", 0) == 0;
    uint64_t probe = 0;
    if (d.name.empty() || !read_u64(d.energy_file, probe)) continue;
    read_u64(it->path() / "max_energy_range_uj", d.max_energy_range_uj);
    found.push_back(d);
  }
  std::map<std::string, RaplDomain> by_name;  // one per name, MMIO preferred
  for (const auto& d : found) {
    auto [pos, inserted] = by_name.emplace(d.name, d);
    if (!inserted && d.mmio && !pos->second.mmio) pos->second = d;
  }
  std::vector<RaplDomain> packages, dram, psys;
  for (const auto& [name, d] : by_name) {
    if (name.rfind("package", 0) == 0)
      packages.push_back(d);
    else if (name == "dram")
      dram.push_back(d);
    else if (name == "psys")
      psys.push_back(d);
  }
  if (prefer_psys && !psys.empty()) return psys;
  if (packages.empty()) return psys;
  if (include_dram) packages.insert(packages.end(), dram.begin(), dram.end());
  return packages;
}

RaplMeter::RaplMeter(std::vector<RaplDomain> domains) : domains_(std::move(domains)), last_(domains_.size(), 0) {
  for (size_t i = 0; i < domains_.size(); ++i) read_u64(domains_[i].energy_file, last_[i]);
}

double RaplMeter::joules_since_last() {
  double joules = 0;
  for (size_t i = 0; i < domains_.size(); ++i) {
    uint64_t now = 0;
    if (!read_u64(domains_[i].energy_file, now)) continue;
    uint64_t delta = now >= last_[i] ? now - last_[i] : now + domains_[i].max_energy_range_uj - last_[i];
    last_[i] = now;
    joules += static_cast<double>(delta) * 1e-6;
  }
  return joules;
}

MachineCpuLoad::MachineCpuLoad(std::string proc_stat) : path_(std::move(proc_stat)) { percent_since_last(); }

double MachineCpuLoad::percent_since_last() {
  std::istringstream line(read_line(path_));
  std::string cpu;
  line >> cpu;
  uint64_t v = 0, total = 0, idle = 0;
  for (int i = 0; line >> v; ++i) {
    if (i >= 8) break;  // guest time is already counted in user time
    total += v;
    if (i == 3 || i == 4) idle += v;  // idle, iowait
  }
  const uint64_t busy = total - idle;
  const uint64_t d_total = total - last_total_, d_busy = busy - last_busy_;
  last_total_ = total;
  last_busy_ = busy;
  return d_total == 0 ? 0.0 : 100.0 * static_cast<double>(d_busy) / static_cast<double>(d_total);
}

double process_cpu_seconds() {
  auto seconds = [](int who) {
    rusage u{};
    getrusage(who, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
  };
  return seconds(RUSAGE_SELF) + seconds(RUSAGE_CHILDREN);
}

MemoryInfo read_meminfo(const std::string& path) {
  MemoryInfo info;
  std::ifstream in(path);
  std::string key;
  double kb = 0;
  std::string unit;
  while (in >> key >> kb >> unit) {
    if (key == "MemTotal:") info.total_gb = kb / (1024.0 * 1024.0);
    if (key == "MemAvailable:") info.available_gb = kb / (1024.0 * 1024.0);
  }
  return info;
}

double process_rss_gb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / (1024.0 * 1024.0);
  return 0;
}

std::string cpu_model_name(const std::string& cpuinfo) {
  std::ifstream in(cpuinfo);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  return "";
}

std::string os_description() {
  utsname u{};
  if (uname(&u) != 0) return "Linux";
  return std::string(u.sysname) + "-" + u.release + "-" + u.machine;
}

// The NVML entry points this file uses, resolved with dlsym.
struct NvmlGpus::Api {
  void* library = nullptr;
  int (*init)() = nullptr;
  int (*shutdown)() = nullptr;
  int (*count)(unsigned int*) = nullptr;
  int (*handle)(unsigned int, void**) = nullptr;
  int (*name)(void*, char*, unsigned int) = nullptr;
  int (*energy)(void*, unsigned long long*) = nullptr;
};

NvmlGpus::NvmlGpus() : api_(std::make_unique<Api>()) {
  api_->library = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!api_->library) return;
  auto sym = [this](const char* name) { return dlsym(api_->library, name); };
  api_->init = reinterpret_cast<int (*)()>(sym("nvmlInit_v2"));
  api_->shutdown = reinterpret_cast<int (*)()>(sym("nvmlShutdown"));
  api_->count = reinterpret_cast<int (*)(unsigned int*)>(sym("nvmlDeviceGetCount_v2"));
  api_->handle = reinterpret_cast<int (*)(unsigned int, void**)>(sym("nvmlDeviceGetHandleByIndex_v2"));
  api_->name = reinterpret_cast<int (*)(void*, char*, unsigned int)>(sym("nvmlDeviceGetName"));
  api_->energy = reinterpret_cast<int (*)(void*, unsigned long long*)>(sym("nvmlDeviceGetTotalEnergyConsumption"));
  unsigned int n = 0;
  if (!api_->init || !api_->count || !api_->handle || !api_->energy || api_->init() != 0) {
    api_->shutdown = nullptr;  // nothing to shut down
    return;
  }
  if (api_->count(&n) != 0) n = 0;
  for (unsigned int i = 0; i < n; ++i) {
    void* device = nullptr;
    unsigned long long mj = 0;
    if (api_->handle(i, &device) != 0 || api_->energy(device, &mj) != 0) continue;  // no energy counter
    devices_.push_back(device);
    last_mj_.push_back(mj);
    char name[96] = {};
    if (model_.empty() && api_->name && api_->name(device, name, sizeof(name)) == 0) model_ = name;
  }
}

NvmlGpus::~NvmlGpus() {
  if (api_->shutdown) api_->shutdown();
  if (api_->library) dlclose(api_->library);
}

double NvmlGpus::joules_since_last() {
  double joules = 0;
  for (size_t i = 0; i < devices_.size(); ++i) {
    unsigned long long mj = 0;
    if (api_->energy(devices_[i], &mj) != 0) continue;
    joules += static_cast<double>(mj - last_mj_[i]) * 1e-3;
    last_mj_[i] = mj;
  }
  return joules;
}

}  // namespace trainer
