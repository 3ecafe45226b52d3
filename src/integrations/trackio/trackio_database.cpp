#include "trainer/integrations/trackio/trackio_database.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <cmath>
#include <stdexcept>
#include <thread>

#include "trainer/core/local_time.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The tables and columns of trackio's sqlite_storage.py. Its
// traces, pending_uploads and alerts tables are left for trackio to create: nothing here uses them.
const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS metrics (
  id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT, timestamp TEXT, run_name TEXT, step INTEGER, metrics TEXT);
CREATE TABLE IF NOT EXISTS configs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT UNIQUE, run_name TEXT, config TEXT, created_at TEXT);
CREATE TABLE IF NOT EXISTS system_metrics (
  id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT, timestamp TEXT, run_name TEXT, metrics TEXT);
CREATE TABLE IF NOT EXISTS project_metadata (key TEXT PRIMARY KEY, value TEXT);
)sql";

// A statement, finalized when it goes.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql, const fs::path& file) : db_(db), file_(file) {
    check(sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr));
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement& text(int index, const std::string& value) {
    check(sqlite3_bind_text(stmt_, index, value.c_str(), static_cast<int>(value.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Statement& integer(int index, int64_t value) {
    check(sqlite3_bind_int64(stmt_, index, value));
    return *this;
  }
  // SQLITE_DONE, or SQLITE_BUSY/SQLITE_LOCKED for the caller to give up; anything else throws.
  int run() {
    const int rc = sqlite3_step(stmt_);
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    if (rc == SQLITE_DONE || rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return rc;
    check(rc);
    return rc;
  }

 private:
  void check(int rc) const {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
      throw std::runtime_error(file_.string() + ": SQLite: " + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  const fs::path& file_;
};

bool busy(int rc) { return rc == SQLITE_BUSY || rc == SQLITE_LOCKED; }

}  // namespace

std::string trackio_canonical_project(const std::string& project) {
  std::string out;
  for (char c : project)
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') out += c;
  return out.empty() ? "default" : out;
}

Json trackio_json(const Json& value) {
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
    return value;
  }
  if (value.is_object() || value.is_array()) {
    Json out = value;
    for (auto& element : out) element = trackio_json(element);
    return out;
  }
  return value;
}

TrackioDatabase::TrackioDatabase(const fs::path& dir, const std::string& project) {
  const std::string name = trackio_canonical_project(project);
  fs::create_directories(dir);
  path_ = dir / (name + ".db");
  lock_path_ = dir / (name + ".lock");
  if (sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
    const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw std::runtime_error(path_.string() + ": cannot open the trackio database: " + why);
  }
  lock_fd_ = ::open(lock_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) {
    sqlite3_close(db_);
    throw std::runtime_error(lock_path_.string() + ": cannot open the lock file");
  }
}

TrackioDatabase::~TrackioDatabase() {
  sqlite3_close(db_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

bool TrackioDatabase::lock(Clock::time_point deadline) {
  while (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

void TrackioDatabase::unlock() { ::flock(lock_fd_, LOCK_UN); }

void TrackioDatabase::exec(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string why = error ? error : sqlite3_errmsg(db_);
    sqlite3_free(error);
    throw std::runtime_error(path_.string() + ": SQLite: " + why);
  }
}

bool TrackioDatabase::write(const TrackioWrite& write, Clock::time_point deadline) {
  if (!lock(deadline)) return false;
  struct Unlock {
    TrackioDatabase* self;
    ~Unlock() { self->unlock(); }
  } unlock_at_return{this};
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  sqlite3_busy_timeout(db_, static_cast<int>(std::max<int64_t>(1, left)));  // a reader (the dashboard) may hold it
  if (busy(sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr))) return false;
  bool committed = false;
  try {
    exec(kSchema);
    int rc = SQLITE_DONE;
    if (write.replace_from_step >= 0)
      rc = Statement(db_, "DELETE FROM metrics WHERE run_id = ? AND step >= ?", path_)
               .text(1, write.run_id)
               .integer(2, write.replace_from_step)
               .run();
    if (!busy(rc) && !write.config.is_null())
      rc = Statement(db_,
                     "INSERT INTO configs (run_id, run_name, config, created_at) VALUES (?, ?, ?, ?) "
                     "ON CONFLICT(run_id) DO UPDATE SET run_name = excluded.run_name, config = excluded.config",
                     path_)
               .text(1, write.run_id)
               .text(2, write.run_name)
               .text(3, dump_json(trackio_json(write.config), {-1, false, false}))
               .text(4, utc_time_iso8601())
               .run();
    Statement fill(db_,
                   "INSERT INTO metrics (run_id, timestamp, run_name, step, metrics) SELECT ?1, ?2, ?3, ?4, ?5 "
                   "WHERE NOT EXISTS (SELECT 1 FROM metrics WHERE run_id = ?1 AND step = ?4)",
                   path_);
    Statement insert(
        db_, "INSERT INTO metrics (run_id, timestamp, run_name, step, metrics) VALUES (?1, ?2, ?3, ?4, ?5)", path_);
    auto add = [&](Statement& statement, const TrackioRow& row) {
      return statement.text(1, row.run_id)
          .text(2, row.timestamp)
          .text(3, row.run_name)
          .integer(4, row.step)
          .text(5, dump_json(trackio_json(row.metrics), {-1, false, false}))
          .run();
    };
    for (size_t i = 0; i < write.backfill.size() && !busy(rc); ++i) rc = add(fill, write.backfill[i]);
    for (size_t i = 0; i < write.rows.size() && !busy(rc); ++i) rc = add(insert, write.rows[i]);
    if (!busy(rc)) committed = !busy(sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr));
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  if (!committed) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  return committed;
}

}  // namespace trainer
