#pragma once
// TrackioDatabase: one trackio project database, written through
// SQLite as trackio writes it, so that trackio's dashboard (`trackio show`) reads the runs:
//   TRACKIO_DIR/<project>.db     metrics, configs, system_metrics, project_metadata
//   TRACKIO_DIR/<project>.lock   taken (flock, as Python's filelock) around every write
// Several processes may write one database: each write takes the lock file and an SQLite write
// transaction; one that finds them busy gives up at its deadline and is tried again later, and the
// database is never left half-written (a transaction commits whole or not at all).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "trainer/core/json.h"

struct sqlite3;

namespace trainer {

// The project's file name as trackio makes it: only [A-Za-z0-9_-] kept, "default" when none is left.
std::string trackio_canonical_project(const std::string& project);
// A value as trackio stores it (orjson): NaN and +-Inf as the strings "NaN", "Infinity", "-Infinity".
Json trackio_json(const Json& value);

struct TrackioRow {
  std::string run_id, run_name, timestamp;  // timestamp: UTC ISO-8601
  int64_t step = 0;
  Json metrics = Json::object();
};

struct TrackioWrite {
  std::string run_id, run_name;
  Json config;                       // the run's config row (written when not null)
  int64_t replace_from_step = -1;    // >= 0: this run's rows from this step on are deleted first (resume)
  std::vector<TrackioRow> backfill;  // written only where the run has no row at that step yet (resume)
  std::vector<TrackioRow> rows;
};

class TrackioDatabase {
 public:
  // Opens (creating the folder, the file and the tables if needed). Throws std::runtime_error
  // naming the file.
  TrackioDatabase(const std::filesystem::path& dir, const std::string& project);
  ~TrackioDatabase();
  TrackioDatabase(const TrackioDatabase&) = delete;
  TrackioDatabase& operator=(const TrackioDatabase&) = delete;

  // One transaction under the lock. False when the lock or the database stayed busy until
  // `deadline` (nothing written); throws std::runtime_error on any other SQLite error.
  bool write(const TrackioWrite& write, std::chrono::steady_clock::time_point deadline);

  const std::filesystem::path& path() const { return path_; }
  const std::filesystem::path& lock_path() const { return lock_path_; }

 private:
  bool lock(std::chrono::steady_clock::time_point deadline);
  void unlock();
  void exec(const char* sql);

  std::filesystem::path path_, lock_path_;
  sqlite3* db_ = nullptr;
  int lock_fd_ = -1;
};

}  // namespace trainer
