#pragma once
// EmissionsTracker: CodeCarbon's offline tracker. measure() adds the energy used since the last
// measurement (CPU, RAM, GPU, times PUE) and returns the run's totals as an emissions.csv row.
//   CPU  RAPL package counters when readable, else the load model with the configured TDP (85 W)
//   RAM  CodeCarbon's DIMM model of the machine's memory (of the process's RSS in process mode)
//   GPU  NVML total-energy counters of NVIDIA GPUs, when libnvidia-ml.so.1 loads
//   CO2  energy (kWh) x carbon intensity (g/kWh, default the world average 475) / 1000 = kg
// Not thread-safe: one thread (the callback's BackgroundWriter) drives it.

#include <functional>
#include <memory>
#include <string>

#include "trainer/integrations/codecarbon/codecarbon_config.h"
#include "trainer/integrations/codecarbon/emissions_csv.h"

namespace trainer {

class RaplMeter;
class MachineCpuLoad;
class NvmlGpus;

// What the tracker reads; tests replace the clock and the /proc files.
struct EmissionsSources {
  std::function<double()> seconds;  // a monotonic clock; default steady_clock
  std::string proc_stat = "/proc/stat";
  std::string meminfo = "/proc/meminfo";
  bool use_nvml = true;
};

class EmissionsTracker {
 public:
  EmissionsTracker(CodeCarbonConfig config, std::string output_dir, EmissionsSources sources = {});
  ~EmissionsTracker();

  void start();
  EmissionsData measure();
  // measure(), and the row added to <output_dir>/<output_file> when save_to_file.
  EmissionsData flush();
  // "rapl", "cpu_load" (machine) or "process": how CPU energy is found.
  std::string cpu_mode() const { return cpu_mode_; }
  std::string output_path() const;

 private:
  CodeCarbonConfig config_;
  std::string output_dir_;
  EmissionsSources sources_;
  std::string cpu_mode_;
  std::string run_id_;
  std::unique_ptr<RaplMeter> rapl_;
  std::unique_ptr<MachineCpuLoad> load_;
  std::unique_ptr<NvmlGpus> gpus_;
  double start_ = 0, last_ = 0, last_process_cpu_ = 0;
  double cpu_j_ = 0, ram_j_ = 0, gpu_j_ = 0, load_weighted_ = 0;
  double last_ram_used_gb_ = 0, last_ram_percent_ = 0;
};

}  // namespace trainer
