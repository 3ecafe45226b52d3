#include "trainer/integrations/codecarbon/emissions_tracker.h"

#include <chrono>
#include <filesystem>
#include <thread>

#include "integrations/codecarbon/energy_sources.h"
#include "integrations/codecarbon/power_models.h"
#include "trainer/core/local_time.h"
#include "trainer/core/random_id.h"

namespace trainer {
namespace {

bool is_arm() {
#if defined(__aarch64__) || defined(__arm__)
  return true;
#else
  return false;
#endif
}

}  // namespace

EmissionsTracker::EmissionsTracker(CodeCarbonConfig config, std::string output_dir, EmissionsSources sources)
    : config_(std::move(config)), output_dir_(std::move(output_dir)), sources_(std::move(sources)) {
  if (!sources_.seconds)
    sources_.seconds = [] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
    };
  if (!config_.force_mode_cpu_load) {
    auto domains = find_rapl_domains(config_.powercap_root, config_.rapl_include_dram, config_.rapl_prefer_psys);
    if (!domains.empty()) rapl_ = std::make_unique<RaplMeter>(std::move(domains));
  }
  cpu_mode_ = rapl_ ? "rapl" : config_.tracking_mode == "process" ? "process" : "cpu_load";
  if (sources_.use_nvml) gpus_ = std::make_unique<NvmlGpus>();
}

EmissionsTracker::~EmissionsTracker() = default;

std::string EmissionsTracker::output_path() const {
  return (std::filesystem::path(output_dir_) / config_.output_file).string();
}

void EmissionsTracker::start() {
  run_id_ = random_uuid4();
  cpu_j_ = ram_j_ = gpu_j_ = load_weighted_ = 0;
  start_ = last_ = sources_.seconds();
  last_process_cpu_ = process_cpu_seconds();
  if (rapl_) rapl_->joules_since_last();
  load_ = std::make_unique<MachineCpuLoad>(sources_.proc_stat);
  if (gpus_) gpus_->joules_since_last();
}

EmissionsData EmissionsTracker::measure() {
  const double now = sources_.seconds();
  const double dt = std::max(0.0, now - last_);
  last_ = now;
  const double tdp = config_.force_cpu_power.value_or(kDefaultCpuTdpWatts);
  const double load = load_ ? load_->percent_since_last() : 0.0;
  load_weighted_ += load * dt;

  double cpu_j = 0;
  if (rapl_) {
    cpu_j = rapl_->joules_since_last();
  } else if (cpu_mode_ == "process") {
    const double cpu_s = process_cpu_seconds();
    cpu_j = cpu_process_power_watts(tdp, cpu_s - last_process_cpu_, dt,
                                    static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))) *
            dt;
    last_process_cpu_ = cpu_s;
  } else {
    cpu_j = cpu_load_power_watts(tdp, load) * dt;
  }
  const MemoryInfo mem = read_meminfo(sources_.meminfo);
  const double ram_gb = config_.tracking_mode == "process" ? process_rss_gb() : mem.total_gb;
  const double ram_w = config_.force_ram_power.value_or(ram_power_watts(ram_gb, is_arm()));
  const double gpu_j = gpus_ ? gpus_->joules_since_last() : 0.0;

  cpu_j_ += cpu_j * config_.pue;
  ram_j_ += ram_w * dt * config_.pue;
  gpu_j_ += gpu_j * config_.pue;

  EmissionsData r;
  r.timestamp = local_time_now("%Y-%m-%dT%H:%M:%S");
  r.project_name = config_.project_name;
  r.run_id = run_id_;
  r.experiment_id = config_.experiment_id;
  r.duration = now - start_;
  r.cpu_energy = joules_to_kwh(cpu_j_);
  r.ram_energy = joules_to_kwh(ram_j_);
  r.gpu_energy = joules_to_kwh(gpu_j_);
  r.energy_consumed = r.cpu_energy + r.ram_energy + r.gpu_energy;
  r.emissions = r.energy_consumed * config_.carbon_intensity_g_per_kwh / 1000.0;
  r.emissions_rate = r.duration > 0 ? r.emissions / r.duration : 0.0;
  r.cpu_power = r.duration > 0 ? cpu_j_ / r.duration : 0.0;
  r.ram_power = r.duration > 0 ? ram_j_ / r.duration : 0.0;
  r.gpu_power = r.duration > 0 ? gpu_j_ / r.duration : 0.0;
  r.water_consumed = config_.wue * r.energy_consumed;
  r.country_iso_code = config_.country_iso_code;
  r.region = config_.region;
  r.os = os_description();
  r.codecarbon_version = "3.3.0";
  r.cpu_count = std::thread::hardware_concurrency();
  r.cpu_model = cpu_model_name();
  r.gpu_count = gpus_ ? gpus_->count() : 0;
  r.gpu_model = gpus_ ? gpus_->model() : "";
  r.ram_total_size = mem.total_gb;
  r.tracking_mode = config_.tracking_mode;
  r.cpu_utilization_percent = r.duration > 0 ? load_weighted_ / r.duration : load;
  r.ram_used_gb = mem.total_gb - mem.available_gb;
  r.ram_utilization_percent = mem.total_gb > 0 ? 100.0 * r.ram_used_gb / mem.total_gb : 0.0;
  r.pue = config_.pue;
  r.wue = config_.wue;
  return r;
}

EmissionsData EmissionsTracker::flush() {
  EmissionsData row = measure();
  if (config_.save_to_file) {
    std::filesystem::create_directories(output_dir_);
    write_emissions_row(output_path(), row, config_.on_csv_write);
  }
  return row;
}

}  // namespace trainer
