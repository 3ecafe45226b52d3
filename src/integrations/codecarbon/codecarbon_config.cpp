#include "trainer/integrations/codecarbon/codecarbon_config.h"

#include "trainer/core/text.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "trainer/core/argument_spec.h"

extern char** environ;

namespace trainer {
namespace {

bool parse_bool(const std::string& value, const std::string& key, const std::string& where) {
  const std::string v = ascii_lower(value);
  if (v == "1" || v == "true" || v == "yes" || v == "on") return true;
  if (v == "0" || v == "false" || v == "no" || v == "off") return false;
  throw ArgumentError(where + ": codecarbon " + key + " = '" + value + "' is not a boolean (use true or false)");
}

double parse_number(const std::string& value, const std::string& key, const std::string& where) {
  try {
    size_t used = 0;
    const double d = std::stod(value, &used);
    if (used == value.size() && std::isfinite(d)) return d;
  } catch (const std::exception&) {}
  throw ArgumentError(where + ": codecarbon " + key + " = '" + value + "' is not a number");
}

}  // namespace

std::map<std::string, std::pair<std::string, std::string>> read_codecarbon_ini(const std::string& path) {
  std::map<std::string, std::pair<std::string, std::string>> out;
  std::ifstream in(path);
  if (!in) return out;
  std::string line, section;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string t = trim_space(line);
    if (t.empty() || t[0] == '#' || t[0] == ';') continue;
    if (t.front() == '[' && t.back() == ']') {
      section = ascii_lower(trim_space(t.substr(1, t.size() - 2)));
      continue;
    }
    if (section != "codecarbon") continue;
    const auto eq = t.find_first_of("=:");
    if (eq == std::string::npos) continue;
    out[ascii_lower(trim_space(t.substr(0, eq)))] = {trim_space(t.substr(eq + 1)), path + ":" + std::to_string(number)};
  }
  return out;
}

bool CodeCarbonConfig::set(const std::string& key, const std::string& value, const std::string& where) {
  if (key == "measure_power_secs") {
    measure_power_secs = parse_number(value, key, where);
    if (measure_power_secs <= 0) throw ArgumentError(where + ": codecarbon measure_power_secs must be > 0");
  } else if (key == "project_name")
    project_name = value;
  else if (key == "experiment_id")
    experiment_id = value;
  else if (key == "output_file")
    output_file = value;
  else if (key == "save_to_file")
    save_to_file = parse_bool(value, key, where);
  else if (key == "on_csv_write") {
    if (value != "append" && value != "update")
      throw ArgumentError(where + ": codecarbon on_csv_write = '" + value + "' (use append or update)");
    on_csv_write = value;
  } else if (key == "tracking_mode") {
    if (value != "machine" && value != "process")
      throw ArgumentError(where + ": codecarbon tracking_mode = '" + value + "' (use machine or process)");
    tracking_mode = value;
  } else if (key == "pue") {
    // Power usage effectiveness: facility power over IT power, so never below 1.
    pue = parse_number(value, key, where);
    if (!(pue >= 1)) throw ArgumentError(where + ": codecarbon pue = '" + value + "' must be >= 1 (1.0 when unknown)");
  } else if (key == "wue") {
    wue = parse_number(value, key, where);
    if (!(wue >= 0)) throw ArgumentError(where + ": codecarbon wue = '" + value + "' must be >= 0");
  } else if (key == "force_cpu_power")
    force_cpu_power = parse_number(value, key, where);
  else if (key == "force_ram_power")
    force_ram_power = parse_number(value, key, where);
  else if (key == "force_mode_cpu_load")
    force_mode_cpu_load = parse_bool(value, key, where);
  else if (key == "rapl_include_dram")
    rapl_include_dram = parse_bool(value, key, where);
  else if (key == "rapl_prefer_psys")
    rapl_prefer_psys = parse_bool(value, key, where);
  else if (key == "country_iso_code")
    country_iso_code = value;
  else if (key == "region")
    region = value;
  else if (key == "carbon_intensity_g_per_kwh")
    carbon_intensity_g_per_kwh = parse_number(value, key, where);
  else if (key == "powercap_root")
    powercap_root = value;
  else
    return false;
  return true;
}

CodeCarbonConfig CodeCarbonConfig::load(const std::string& home, const std::string& cwd) {
  CodeCarbonConfig config;
  std::string home_dir = home;
  if (home_dir.empty())
    if (const char* h = std::getenv("HOME")) home_dir = h;
  for (const std::string& path : {home_dir + "/.codecarbon.config", cwd + "/.codecarbon.config"}) {
    if (path == "/.codecarbon.config" && home_dir.empty()) continue;
    for (const auto& [key, value] : read_codecarbon_ini(path)) config.set(key, value.first, value.second);
  }
  for (char** e = environ; *e; ++e) {
    const std::string entry = *e;
    const std::string prefix = "CODECARBON_";
    if (entry.rfind(prefix, 0) != 0) continue;
    const auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    const std::string name = entry.substr(0, eq);
    config.set(ascii_lower(name.substr(prefix.size())), entry.substr(eq + 1), "environment variable " + name);
  }
  return config;
}

}  // namespace trainer
