#pragma once
// CodeCarbon's configuration, read as CodeCarbon 3.3 reads it: ~/.codecarbon.config, then
// ./.codecarbon.config (INI, section [codecarbon]), then CODECARBON_<KEY> environment variables;
// each later source overrides the earlier. Unknown keys are ignored, as CodeCarbon ignores them.

#include <map>
#include <optional>
#include <string>

namespace trainer {

struct CodeCarbonConfig {
  double measure_power_secs = 15;  // how often energy is measured and a row appended
  std::string project_name = "codecarbon";
  std::string experiment_id = "5b0fa12a-3dd7-45bb-9766-cc326314d9f1";
  std::string output_file = "emissions.csv";
  bool save_to_file = true;
  std::string on_csv_write = "append";    // or "update": one row per run, rewritten
  std::string tracking_mode = "machine";  // or "process"
  double pue = 1.0;
  double wue = 0.0;
  std::optional<double> force_cpu_power;  // W: the CPU's TDP for the load model
  std::optional<double> force_ram_power;  // W
  bool force_mode_cpu_load = false;       // ignore RAPL
  bool rapl_include_dram = false;
  bool rapl_prefer_psys = false;
  std::string country_iso_code;
  std::string region;
  // Grams of CO2eq per kWh. Not a CodeCarbon key: this library ships no per-country energy-mix
  // data, so the intensity is configured; unset, it is CodeCarbon's world average.
  double carbon_intensity_g_per_kwh = 475.0;
  std::string powercap_root = "/sys/class/powercap";  // for tests and unusual systems

  // Reads the files and the environment. `home` and `cwd` default to $HOME and ".".
  // Throws std::runtime_error naming the file, line and key on a value that does not parse.
  static CodeCarbonConfig load(const std::string& home = "", const std::string& cwd = ".");
  // Applies one key; returns false for an unknown key.
  bool set(const std::string& key, const std::string& value, const std::string& where);
};

// The [codecarbon] section of an INI file as key -> (value, "file:line").
std::map<std::string, std::pair<std::string, std::string>> read_codecarbon_ini(const std::string& path);

}  // namespace trainer
