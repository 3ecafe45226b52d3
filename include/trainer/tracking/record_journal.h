#pragma once
// The journal of a remote tracker: an append-only JSON-lines file under output_dir that holds every
// record the tracker produced, which of them the service acknowledged, and the remote run they
// belong to. It is what makes a tracker lose nothing: records are written here before they are
// sent, a crash or SIGKILL leaves every complete line readable (a torn last line is ignored), and a
// later process (a resume, `trainer sync`) continues from it without sending anything twice.
//
// Lines, in the order they happened:
//   {"record": {"seq": 7, "type": "metrics", ...}}   a record (seq counts from 1, in order)
//   {"acked": 7}                                      every record up to seq 7 is done: delivered,
//                                                     or put aside in rejected.jsonl beside it
//   {"run": {...}}                                    the remote run's identity (its id, ...)
// A RecordJournal is not thread-safe; RecordSender guards it.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "trainer/core/json.h"

namespace trainer {

struct TrackingRecord {
  int64_t seq = 0;
  std::string type;
  Json body = Json::object();  // the type's fields (never secrets)

  Json to_json() const;
  static TrackingRecord from_json(const Json& json);
};

// What a journal holds, read once at start.
struct JournalSummary {
  int64_t last_seq = 0;  // highest record seq
  int64_t acked = 0;     // every record up to here is done
  Json run;              // the last run identity written, or null
  int64_t unacked() const { return last_seq - acked; }
};

// Another live process holds the journal (a run still going, in the same output_dir): two writers
// would interleave its records and send them twice.
class JournalInUse : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class RecordJournal {
 public:
  // Opens (creating directories and the file) for appending, and locks it for this process (the
  // lock goes with the process, a killed one included). Throws JournalInUse when another process
  // holds it, std::runtime_error naming the path on other failures.
  explicit RecordJournal(std::filesystem::path path);
  ~RecordJournal();
  RecordJournal(const RecordJournal&) = delete;
  RecordJournal& operator=(const RecordJournal&) = delete;

  void append(const TrackingRecord& record);
  void append_acked(int64_t seq);
  void append_run(const Json& run);
  // Hands the appended lines to the OS (survives a crash of the process).
  void flush();
  // Also to the disk (survives a power loss): at every checkpoint. Free when nothing was appended
  // since the last sync (a checkpoint syncs when it takes a tracker's state, and again in on_save).
  void sync();

  // Reads up to `max` records with seq > after, starting the scan at byte `offset` (which is moved
  // past what was read, so a long journal is read once).
  std::vector<TrackingRecord> read_after(int64_t after, size_t max, uint64_t& offset) const;

  const std::filesystem::path& path() const { return path_; }
  // The byte offset of the end of what was appended (after flush()).
  uint64_t end_offset() const;

  // Reads a whole journal. A damaged line before the last throws std::runtime_error naming the file
  // and line; a torn last line (a crash mid-write) is skipped. A missing file is an empty journal.
  static JournalSummary summarize(const std::filesystem::path& path);
  static void for_each_record(const std::filesystem::path& path,
                              const std::function<void(const TrackingRecord&)>& visit);

 private:
  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  uint64_t synced_end_ = 0;  // end_offset() at the last sync
};

// Records the service refused for good, with its answer, kept beside the journal
// (rejected.jsonl): one line {"record": {...}, "error": "..."} each.
void append_rejected_record(const std::filesystem::path& path, const TrackingRecord& record, const std::string& error);

}  // namespace trainer
