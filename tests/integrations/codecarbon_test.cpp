#include "trainer/integrations/codecarbon/codecarbon_callback.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "integrations/codecarbon/energy_sources.h"
#include "integrations/codecarbon/power_models.h"
#include "test_support.h"

#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::vector<std::string> cells_of(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string c; std::getline(in, c, ',');) out.push_back(c);
  return out;
}

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

void make_domain(const fs::path& dir, const std::string& name, uint64_t energy, uint64_t max_range = 262143328850) {
  write(dir / "name", name + "\n");
  write(dir / "energy_uj", std::to_string(energy) + "\n");
  write(dir / "max_energy_range_uj", std::to_string(max_range) + "\n");
}

double cell(const std::vector<std::string>& header, const std::vector<std::string>& row, const std::string& column) {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == column) return std::stod(row.at(i));
  ADD_FAILURE() << "no column " << column;
  return 0;
}

TEST(CodeCarbonModels, CpuLoadAndRamFollowCodeCarbon) {
  EXPECT_DOUBLE_EQ(cpu_load_power_watts(85, 0), 8.5);
  EXPECT_DOUBLE_EQ(cpu_load_power_watts(85, 100), 85);
  EXPECT_DOUBLE_EQ(cpu_load_power_watts(85, 50), 85 * (0.1 + 0.9 * 0.125));
  EXPECT_DOUBLE_EQ(cpu_process_power_watts(100, 2.0, 4.0, 2), 25.0);
  EXPECT_EQ(estimated_dimm_count(2), 1);
  EXPECT_EQ(estimated_dimm_count(16), 2);
  EXPECT_EQ(estimated_dimm_count(32), 4);
  EXPECT_EQ(estimated_dimm_count(128), 8);
  EXPECT_EQ(estimated_dimm_count(512), 8);      // 64 GB DIMMs
  EXPECT_EQ(estimated_dimm_count(4096), 32);    // capped
  EXPECT_DOUBLE_EQ(ram_power_watts(2), 10.0);   // 1 DIMM, the 10 W floor
  EXPECT_DOUBLE_EQ(ram_power_watts(64), 20.0);  // 4 x 5 W
  EXPECT_DOUBLE_EQ(ram_power_watts(128), 20.0 + 4 * 4.5);
  EXPECT_DOUBLE_EQ(ram_power_watts(4096), 20.0 + 4 * 4.5 + 8 * 4.0 + 16 * 3.5);
  EXPECT_DOUBLE_EQ(ram_power_watts(2, /*arm=*/true), 3.0);
}

TEST(CodeCarbonRapl, PackageDomainsMmioPreferredDramOnRequest) {
  testing::TempDir root;
  make_domain(root / "intel-rapl:0", "package-0", 1000);
  make_domain(root / "intel-rapl:0" / "intel-rapl:0:0", "core", 10);
  make_domain(root / "intel-rapl:0" / "intel-rapl:0:2", "dram", 20);
  make_domain(root / "intel-rapl-mmio:0", "package-0", 5000);
  make_domain(root / "intel-rapl:1", "psys", 30);
  auto domains = find_rapl_domains(root.path(), false, false);
  ASSERT_EQ(domains.size(), 1u);
  EXPECT_EQ(domains[0].name, "package-0");
  EXPECT_TRUE(domains[0].mmio);
  domains = find_rapl_domains(root.path(), true, false);
  ASSERT_EQ(domains.size(), 2u);
  EXPECT_EQ(domains[1].name, "dram");
  domains = find_rapl_domains(root.path(), false, true);
  ASSERT_EQ(domains.size(), 1u);
  EXPECT_EQ(domains[0].name, "psys");
  EXPECT_TRUE(find_rapl_domains(root / "missing", false, false).empty());
}

TEST(CodeCarbonRapl, CounterWrapAroundIsAdded) {
  testing::TempDir root;
  make_domain(root / "intel-rapl:0", "package-0", 999000, 1000000);
  RaplMeter meter(find_rapl_domains(root.path(), false, false));
  write(root / "intel-rapl:0" / "energy_uj", "2000\n");
  EXPECT_DOUBLE_EQ(meter.joules_since_last(), 3000e-6);
}

struct FakeMachine {
  testing::TempDir dir;
  double now = 100.0;
  EmissionsSources sources() {
    EmissionsSources s;
    s.seconds = [this] { return now; };
    s.proc_stat = (dir / "stat").string();
    s.meminfo = (dir / "meminfo").string();
    s.use_nvml = false;
    return s;
  }
  FakeMachine() {
    write(dir / "meminfo", "MemTotal:       16777216 kB\nMemFree: 1 kB\nMemAvailable:    8388608 kB\n");
    write(dir / "stat", "cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3\n");
  }
};

TEST(EmissionsTracker, RaplEnergyRamModelAndEmissionsArithmetic) {
  FakeMachine m;
  make_domain(m.dir / "powercap" / "intel-rapl:0", "package-0", 1000000);
  CodeCarbonConfig config;
  config.powercap_root = (m.dir / "powercap").string();
  EmissionsTracker tracker(config, (m.dir / "out").string(), m.sources());
  EXPECT_EQ(tracker.cpu_mode(), "rapl");
  tracker.start();
  // One hour; the package used 3600 J (1 W); 16 GiB of RAM is 2 DIMMs, i.e. 10 W.
  m.now += 3600;
  write(m.dir / "powercap" / "intel-rapl:0" / "energy_uj", std::to_string(1000000 + 3600000000ULL));
  const EmissionsData row = tracker.flush();
  EXPECT_DOUBLE_EQ(row.duration, 3600);
  EXPECT_NEAR(row.cpu_energy, 0.001, 1e-15);
  EXPECT_NEAR(row.ram_energy, 0.010, 1e-15);
  EXPECT_NEAR(row.energy_consumed, 0.011, 1e-15);
  EXPECT_NEAR(row.emissions, 0.011 * 475 / 1000, 1e-15);
  EXPECT_NEAR(row.emissions_rate, row.emissions / 3600, 1e-18);
  EXPECT_NEAR(row.cpu_power, 1.0, 1e-12);
  EXPECT_NEAR(row.ram_power, 10.0, 1e-12);
  EXPECT_DOUBLE_EQ(row.ram_total_size, 16.0);
  EXPECT_DOUBLE_EQ(row.ram_used_gb, 8.0);
  EXPECT_DOUBLE_EQ(row.ram_utilization_percent, 50.0);

  // The file: CodeCarbon 3.3's header and a row that carries these numbers.
  const auto lines = lines_of(testing::read_file(m.dir / "out" / "emissions.csv"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0],
            "timestamp,project_name,run_id,experiment_id,duration,emissions,emissions_rate,cpu_power,gpu_power,"
            "ram_power,cpu_energy,gpu_energy,ram_energy,energy_consumed,water_consumed,country_name,"
            "country_iso_code,region,cloud_provider,cloud_region,os,python_version,codecarbon_version,cpu_count,"
            "cpu_model,gpu_count,gpu_model,longitude,latitude,ram_total_size,tracking_mode,"
            "cpu_utilization_percent,gpu_utilization_percent,ram_utilization_percent,ram_used_gb,on_cloud,pue,wue");
  const auto header = cells_of(lines[0]), values = cells_of(lines[1]);
  EXPECT_NEAR(cell(header, values, "emissions"), 0.005225, 1e-15);
  EXPECT_NEAR(cell(header, values, "energy_consumed"), 0.011, 1e-15);
  EXPECT_DOUBLE_EQ(cell(header, values, "duration"), 3600.0);
  EXPECT_DOUBLE_EQ(cell(header, values, "pue"), 1.0);
}

TEST(EmissionsTracker, LoadModelWithConfiguredTdpPueAndIntensity) {
  FakeMachine m;
  CodeCarbonConfig config;
  config.powercap_root = (m.dir / "no-powercap").string();
  config.force_cpu_power = 100;
  config.pue = 1.5;
  config.carbon_intensity_g_per_kwh = 56;
  config.force_ram_power = 0;
  EmissionsTracker tracker(config, (m.dir / "out").string(), m.sources());
  EXPECT_EQ(tracker.cpu_mode(), "cpu_load");
  tracker.start();
  m.now += 100;
  write(m.dir / "stat", "cpu  600 0 100 1300 0 0 0 0 0 0\n");  // 500 busy of 1000 ticks: 50%
  const EmissionsData row = tracker.measure();
  const double joules = 100 * (0.1 + 0.9 * 0.125) * 100 * 1.5;  // W x s x PUE
  EXPECT_NEAR(row.cpu_energy, joules / 3.6e6, 1e-15);
  EXPECT_NEAR(row.emissions, joules / 3.6e6 * 56 / 1000, 1e-15);
  EXPECT_DOUBLE_EQ(row.cpu_utilization_percent, 50.0);
  EXPECT_DOUBLE_EQ(row.ram_energy, 0.0);
}

TEST(EmissionsCsv, UpdateModeKeepsOneRowPerRunAndOtherHeadersAreMovedAside) {
  testing::TempDir dir;
  const std::string path = (dir / "emissions.csv").string();
  write(path, "timestamp,project_name,duration\nold,row,1\n");
  EmissionsData a;
  a.run_id = "run-a";
  a.duration = 1;
  write_emissions_row(path, a, "update");
  EXPECT_EQ(testing::read_file(path + ".bak"), "timestamp,project_name,duration\nold,row,1\n");
  a.duration = 2;
  write_emissions_row(path, a, "update");
  EmissionsData b;
  b.run_id = "run-b";
  write_emissions_row(path, b, "update");
  auto lines = lines_of(testing::read_file(path));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(cells_of(lines[1])[2], "run-a");
  EXPECT_EQ(cells_of(lines[1])[4], "2.0");
  write_emissions_row(path, b, "append");
  EXPECT_EQ(lines_of(testing::read_file(path)).size(), 4u);
  EXPECT_EQ(cells_of(lines[1]).size(), emissions_csv_columns().size());
}

TEST(CodeCarbonConfig, PueBelowOneIsAnError) {
  CodeCarbonConfig c;
  for (const char* bad : {"-1", "0.5", "nan"}) {
    try {
      c.set("pue", bad, "CODECARBON_PUE");
      ADD_FAILURE() << bad;
    } catch (const ArgumentError& e) {
      EXPECT_NE(std::string(e.what()).find("CODECARBON_PUE: codecarbon pue = '"), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(c.set("pue", "1.2", "CODECARBON_PUE"));
  EXPECT_EQ(c.pue, 1.2);
}

TEST(CodeCarbonConfig, FilesThenEnvironmentAndErrorsNameTheLine) {
  testing::TempDir home, cwd;
  write(home / ".codecarbon.config", "[codecarbon]\nmeasure_power_secs = 30\nproject_name = home\npue=1.2\n");
  write(cwd / ".codecarbon.config", "[other]\nproject_name = ignored\n[codecarbon]\nproject_name: here\n");
  setenv("CODECARBON_PUE", "1.4", 1);
  CodeCarbonConfig c = CodeCarbonConfig::load(home.path().string(), cwd.path().string());
  unsetenv("CODECARBON_PUE");
  EXPECT_EQ(c.measure_power_secs, 30);
  EXPECT_EQ(c.project_name, "here");
  EXPECT_EQ(c.pue, 1.4);
  write(cwd / ".codecarbon.config", "[codecarbon]\n\nmeasure_power_secs = often\n");
  try {
    CodeCarbonConfig::load(home.path().string(), cwd.path().string());
    FAIL() << "expected an error";
  } catch (const ArgumentError& e) {  // a bad setting: the program's argument status (2)
    EXPECT_NE(std::string(e.what()).find(".codecarbon.config:3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("measure_power_secs"), std::string::npos) << e.what();
  }
}

TEST(CodeCarbonCallback, RowsAtTheIntervalAndAtTheEndOfOneRun) {
  FakeMachine m;
  CodeCarbonConfig config;
  config.measure_power_secs = 0.05;
  config.powercap_root = (m.dir / "none").string();
  EmissionsSources sources;
  sources.use_nvml = false;
  CodeCarbonCallback cb(config, sources);
  TrainingArguments args;
  args.output_dir = (m.dir / "out").string();
  TrainerState state;
  TrainerControl control;
  CallbackContext ctx;
  cb.on_init_end(args, state, control, ctx);
  cb.on_train_begin(args, state, control, ctx);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  cb.on_train_end(args, state, control, ctx);
  const auto lines = lines_of(testing::read_file(m.dir / "out" / "emissions.csv"));
  ASSERT_GE(lines.size(), 4u);  // header, at least two interval rows, the final row
  const auto header = cells_of(lines[0]);
  double previous = -1;
  for (size_t i = 1; i < lines.size(); ++i) {
    const auto row = cells_of(lines[i]);
    EXPECT_EQ(row[2], cells_of(lines[1])[2]) << "one run id";
    const double duration = cell(header, row, "duration");
    EXPECT_GT(duration, previous);
    previous = duration;
    EXPECT_GT(cell(header, row, "cpu_energy"), 0.0);
  }
}

TEST(CodeCarbonCallback, OnlyLocalProcessZeroMeasures) {
  FakeMachine m;
  CodeCarbonCallback cb(CodeCarbonConfig{}, m.sources());
  TrainingArguments args;
  args.output_dir = (m.dir / "out").string();
  TrainerState state;
  state.is_local_process_zero = false;
  TrainerControl control;
  CallbackContext ctx;
  cb.on_init_end(args, state, control, ctx);
  cb.on_train_begin(args, state, control, ctx);
  cb.on_train_end(args, state, control, ctx);
  EXPECT_EQ(cb.tracker(), nullptr);
  EXPECT_FALSE(fs::exists(m.dir / "out" / "emissions.csv"));
}

TEST(CodeCarbonCallback, AnUnwritableOutputIsReportedAndTrainingGoesOn) {
  FakeMachine m;
  write(m.dir / "file", "x");
  testing::CapturedLogs warnings;
  CodeCarbonCallback cb(CodeCarbonConfig{}, m.sources());
  TrainingArguments args;
  args.output_dir = (m.dir / "file" / "out").string();
  TrainerState state;
  TrainerControl control;
  CallbackContext ctx;
  EXPECT_NO_THROW(cb.on_train_begin(args, state, control, ctx));
  EXPECT_NO_THROW(cb.on_train_end(args, state, control, ctx));
  EXPECT_EQ(cb.writer().failures(), 1);
  EXPECT_TRUE(warnings.contains("codecarbon: "));
}

}  // namespace
}  // namespace trainer
