#pragma once
// emissions.csv exactly as CodeCarbon 3.3 writes it: its 38 columns in its order, one row per
// measurement, floats as Python prints them.

#include <cstdint>
#include <string>
#include <vector>

namespace trainer {

struct EmissionsData {
  std::string timestamp;  // local time, YYYY-MM-DDTHH:MM:SS
  std::string project_name, run_id, experiment_id;
  double duration = 0;                                    // s
  double emissions = 0;                                   // kg CO2eq
  double emissions_rate = 0;                              // kg/s
  double cpu_power = 0, gpu_power = 0, ram_power = 0;     // W
  double cpu_energy = 0, gpu_energy = 0, ram_energy = 0;  // kWh
  double energy_consumed = 0;                             // kWh
  double water_consumed = 0;                              // L
  std::string country_name, country_iso_code, region, cloud_provider, cloud_region;
  std::string os, python_version, codecarbon_version;
  int64_t cpu_count = 0;
  std::string cpu_model;
  int64_t gpu_count = 0;
  std::string gpu_model;
  std::string longitude, latitude;
  double ram_total_size = 0;  // GiB
  std::string tracking_mode;
  double cpu_utilization_percent = 0, gpu_utilization_percent = 0, ram_utilization_percent = 0;
  double ram_used_gb = 0;
  std::string on_cloud = "N";
  double pue = 1.0, wue = 0.0;
};

const std::vector<std::string>& emissions_csv_columns();
std::string emissions_csv_header();
std::string emissions_csv_row(const EmissionsData& row);

// Adds the row to the file. "append" appends; "update" replaces the row of the same run_id (or
// appends). A file whose header is not this one is first renamed to <path>.bak, as CodeCarbon does.
// Throws std::runtime_error naming the path when it cannot write.
void write_emissions_row(const std::string& path, const EmissionsData& row, const std::string& on_csv_write);

}  // namespace trainer
