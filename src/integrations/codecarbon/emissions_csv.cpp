#include "trainer/integrations/codecarbon/emissions_csv.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "trainer/core/atomic_file.h"
#include "trainer/core/json.h"
#include "trainer/integrations/text_output.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

std::string num(double v) { return python_float_repr(v); }

std::string text(const std::string& s) { return csv_field(s); }

}  // namespace

const std::vector<std::string>& emissions_csv_columns() {
  static const std::vector<std::string> columns = {"timestamp",
                                                   "project_name",
                                                   "run_id",
                                                   "experiment_id",
                                                   "duration",
                                                   "emissions",
                                                   "emissions_rate",
                                                   "cpu_power",
                                                   "gpu_power",
                                                   "ram_power",
                                                   "cpu_energy",
                                                   "gpu_energy",
                                                   "ram_energy",
                                                   "energy_consumed",
                                                   "water_consumed",
                                                   "country_name",
                                                   "country_iso_code",
                                                   "region",
                                                   "cloud_provider",
                                                   "cloud_region",
                                                   "os",
                                                   "python_version",
                                                   "codecarbon_version",
                                                   "cpu_count",
                                                   "cpu_model",
                                                   "gpu_count",
                                                   "gpu_model",
                                                   "longitude",
                                                   "latitude",
                                                   "ram_total_size",
                                                   "tracking_mode",
                                                   "cpu_utilization_percent",
                                                   "gpu_utilization_percent",
                                                   "ram_utilization_percent",
                                                   "ram_used_gb",
                                                   "on_cloud",
                                                   "pue",
                                                   "wue"};
  return columns;
}

std::string emissions_csv_header() {
  std::string out;
  for (const auto& c : emissions_csv_columns()) out += (out.empty() ? "" : ",") + c;
  return out;
}

std::string emissions_csv_row(const EmissionsData& r) {
  const std::vector<std::string> cells = {text(r.timestamp),
                                          text(r.project_name),
                                          text(r.run_id),
                                          text(r.experiment_id),
                                          num(r.duration),
                                          num(r.emissions),
                                          num(r.emissions_rate),
                                          num(r.cpu_power),
                                          num(r.gpu_power),
                                          num(r.ram_power),
                                          num(r.cpu_energy),
                                          num(r.gpu_energy),
                                          num(r.ram_energy),
                                          num(r.energy_consumed),
                                          num(r.water_consumed),
                                          text(r.country_name),
                                          text(r.country_iso_code),
                                          text(r.region),
                                          text(r.cloud_provider),
                                          text(r.cloud_region),
                                          text(r.os),
                                          text(r.python_version),
                                          text(r.codecarbon_version),
                                          std::to_string(r.cpu_count),
                                          text(r.cpu_model),
                                          std::to_string(r.gpu_count),
                                          text(r.gpu_model),
                                          text(r.longitude),
                                          text(r.latitude),
                                          num(r.ram_total_size),
                                          text(r.tracking_mode),
                                          num(r.cpu_utilization_percent),
                                          num(r.gpu_utilization_percent),
                                          num(r.ram_utilization_percent),
                                          num(r.ram_used_gb),
                                          text(r.on_cloud),
                                          num(r.pue),
                                          num(r.wue)};
  std::string out;
  for (size_t i = 0; i < cells.size(); ++i) out += (i ? "," : "") + cells[i];
  return out;
}

void write_emissions_row(const std::string& path, const EmissionsData& row, const std::string& on_csv_write) {
  const std::string header = emissions_csv_header();
  std::vector<std::string> lines;
  if (fs::exists(path)) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    if (line != header) {
      std::error_code ec;
      fs::rename(path, path + ".bak", ec);
      if (ec) throw std::runtime_error("cannot move aside " + path + " (its columns differ): " + ec.message());
    } else if (on_csv_write == "update") {
      while (std::getline(in, line))
        if (!line.empty()) lines.push_back(line);
    }
  }
  const std::string line = emissions_csv_row(row);
  if (on_csv_write == "update") {
    bool replaced = false;
    const std::string id = "," + row.run_id + ",";
    for (auto& l : lines)
      if (l.find(id) != std::string::npos) {
        l = line;
        replaced = true;
      }
    if (!replaced) lines.push_back(line);
    std::string contents = header + "\n";
    for (const auto& l : lines) contents += l + "\n";
    write_file_atomic(path, contents);
    return;
  }
  AppendedFile(path).append(line + "\n", header + "\n");
}

}  // namespace trainer
