#include "trainer/tracking/record_journal.h"

#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "trainer/core/atomic_file.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

const JsonFormat kLine{-1, false, false};

std::string system_error(const fs::path& path, const std::string& what) {
  return path.string() + ": " + what + ": " + std::strerror(errno);
}

void write_line(std::FILE* file, const fs::path& path, const Json& line) {
  const std::string text = dump_json(line, kLine) + "\n";
  if (std::fwrite(text.data(), 1, text.size(), file) != text.size())
    throw std::runtime_error(system_error(path, "cannot append"));
}

// Calls visit(line_json, line_number) for each complete line; a damaged line that is not the last
// is an error, the last one (torn by a crash) is skipped.
template <typename Visit>
void scan_lines(const fs::path& path, uint64_t& offset, Visit&& visit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return;
  in.seekg(static_cast<std::streamoff>(offset));
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    const bool complete = !in.eof();  // a line without its newline was torn by a crash
    if (!complete) break;
    Json parsed;
    try {
      parsed = parse_json(line, path.string());
    } catch (const std::exception&) {
      if (in.peek() == std::char_traits<char>::eof()) break;
      throw std::runtime_error(path.string() + ":" + std::to_string(number) +
                               ": damaged journal line; move the file aside to start a new journal "
                               "(what it holds was not sent)");
    }
    offset += line.size() + 1;
    if (!visit(parsed)) return;
  }
}

}  // namespace

Json TrackingRecord::to_json() const {
  Json out = body;
  out["seq"] = seq;
  out["type"] = type;
  return out;
}

TrackingRecord TrackingRecord::from_json(const Json& json) {
  TrackingRecord r;
  r.seq = required_field<int64_t>(json, "seq");
  r.type = required_field<std::string>(json, "type");
  r.body = json;
  r.body.erase("seq");
  r.body.erase("type");
  return r;
}

RecordJournal::RecordJournal(fs::path path) : path_(std::move(path)) {
  std::error_code ec;
  fs::create_directories(path_.parent_path(), ec);
  file_ = std::fopen(path_.c_str(), "ab");
  if (!file_) throw std::runtime_error(system_error(path_, "cannot open the tracker journal"));
  if (::flock(::fileno(file_), LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    std::fclose(file_);
    file_ = nullptr;
    if (error == EWOULDBLOCK)
      throw JournalInUse(path_.string() +
                         " is in use by another process (a run still going in this output_dir?); "
                         "wait for it to end, or stop it, before resuming or syncing");
    errno = error;
    throw std::runtime_error(system_error(path_, "cannot lock the tracker journal"));
  }
}

RecordJournal::~RecordJournal() {
  if (file_) std::fclose(file_);
}

void RecordJournal::append(const TrackingRecord& record) {
  write_line(file_, path_, Json{{"record", record.to_json()}});
}
void RecordJournal::append_acked(int64_t seq) { write_line(file_, path_, Json{{"acked", seq}}); }
void RecordJournal::append_run(const Json& run) { write_line(file_, path_, Json{{"run", run}}); }

void RecordJournal::flush() {
  if (std::fflush(file_) != 0) throw std::runtime_error(system_error(path_, "cannot write"));
}

void RecordJournal::sync() {
  flush();
  const uint64_t end = end_offset();
  if (end == synced_end_ && end != 0) return;  // append-only: nothing was written since the last sync
  if (::fsync(fileno(file_)) != 0) throw std::runtime_error(system_error(path_, "cannot sync"));
  synced_end_ = end;
}

uint64_t RecordJournal::end_offset() const {
  const long position = std::ftell(file_);
  return position < 0 ? 0 : static_cast<uint64_t>(position);
}

std::vector<TrackingRecord> RecordJournal::read_after(int64_t after, size_t max, uint64_t& offset) const {
  std::fflush(file_);
  std::vector<TrackingRecord> out;
  uint64_t position = offset;
  scan_lines(path_, position, [&](const Json& line) {
    if (line.contains("record")) {
      TrackingRecord r = TrackingRecord::from_json(line["record"]);
      if (r.seq > after) out.push_back(std::move(r));
    }
    offset = position;
    return out.size() < max;
  });
  return out;
}

JournalSummary RecordJournal::summarize(const fs::path& path) {
  JournalSummary s;
  uint64_t offset = 0;
  scan_lines(path, offset, [&](const Json& line) {
    if (line.contains("record")) s.last_seq = std::max(s.last_seq, required_field<int64_t>(line["record"], "seq"));
    if (line.contains("acked")) s.acked = std::max(s.acked, line["acked"].get<int64_t>());
    if (line.contains("run")) s.run = line["run"];
    return true;
  });
  return s;
}

void RecordJournal::for_each_record(const fs::path& path, const std::function<void(const TrackingRecord&)>& visit) {
  uint64_t offset = 0;
  scan_lines(path, offset, [&](const Json& line) {
    if (line.contains("record")) visit(TrackingRecord::from_json(line["record"]));
    return true;
  });
}

void append_rejected_record(const fs::path& path, const TrackingRecord& record, const std::string& error) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::FILE* file = std::fopen(path.c_str(), "ab");
  if (!file) throw std::runtime_error(system_error(path, "cannot open"));
  write_line(file, path, Json{{"record", record.to_json()}, {"error", error}});
  std::fflush(file);
  ::fsync(fileno(file));
  std::fclose(file);
}

}  // namespace trainer
