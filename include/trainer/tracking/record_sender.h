#pragma once
// RecordSender: the one way every remote tracker sends what it logs. The training thread submits
// records (data, not closures) and returns at once; one background thread writes them to the
// tracker's journal, then sends them in order through the tracker's RemoteEndpoint, which groups
// them into requests by the service's limits.
//
// What happens on each answer (the endpoint classifies it, classify_response() does it for HTTP):
//   delivered       the records are acknowledged in the journal and leave memory
//   retry           429, 5xx, 408, timeouts, refused or reset connections: the same records again
//                   after an exponential backoff with jitter (or the server's Retry-After)
//   rejected        any other 4xx: a batch is retried one record at a time, and each record the
//                   service refuses is written with its answer to rejected.jsonl beside the
//                   journal and reported once per distinct message; never silently gone
//   blocked         the endpoint cannot send anything (no remote run, bad credentials, a TLS
//                   certificate not trusted or refused): reported once; everything stays in the
//                   journal for `trainer sync`
// Memory is bounded (SenderOptions::max_records_in_memory queued and as many in flight); beyond
// that, records are written straight to the journal and read back from it when their turn comes.
// The training thread never waits on the network: it only takes a lock held for memory moves and
// journal appends. finish(budget) gives the sender a bounded time and then leaves the rest in the
// journal (the request in flight is aborted).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "trainer/core/json.h"
#include "trainer/tracking/record_journal.h"

namespace trainer {

struct HttpResponse;

struct Delivery {
  enum class Kind { delivered, retry, rejected, blocked };
  Kind kind = Kind::delivered;
  size_t count = 1;  // how many of the leading records this answer is about (>= 1)
  std::string message;
  std::optional<std::chrono::milliseconds> retry_after;

  static Delivery delivered(size_t count) { return {Kind::delivered, count, {}, std::nullopt}; }
};

// The classification above for one HTTP exchange about `count` records; `what` names the call in
// messages ("mlflow runs/log-batch"). Error bodies are quoted from JSON {"message"} when they are
// JSON, else as text without HTML, shortened.
Delivery classify_response(const HttpResponse& response, size_t count, const std::string& what);

// One service's side of sending. Called only from the sender's thread.
class RemoteEndpoint {
 public:
  virtual ~RemoteEndpoint() = default;
  // Sends the first few of `pending` (at least one) as the service wants them, returning how many
  // the answer is about.
  virtual Delivery send(const std::vector<TrackingRecord>& pending) = 0;
  // The remote run's identity, to keep in the journal (null until known) ...
  virtual Json run() const = 0;
  // ... and to give back to a later process's endpoint.
  virtual void restore_run(const Json& run) = 0;
  // When nothing was sent for SenderOptions::heartbeat_interval and the run is known: tells the
  // service the run is alive (W&B marks a silent run crashed). Must not throw; its answer is ignored.
  virtual void heartbeat() {}
  // From any thread: true makes the request in flight (and any later one) return at once; false
  // lets requests through again.
  virtual void set_aborted(bool aborted) = 0;
};

struct SenderOptions {
  size_t max_records_in_memory = 10000;
  std::chrono::milliseconds batch_delay{200};  // records are collected this long before a send
  std::chrono::milliseconds initial_backoff{500};
  std::chrono::milliseconds max_backoff{10000};
  size_t max_records_per_send = 2000;  // offered to the endpoint at once
  std::string resend_command;          // printed when records are left ("trainer sync OUTPUT_DIR")
  std::chrono::milliseconds heartbeat_interval{0};
  bool offline = false;  // journal only, send nothing (an offline run: `trainer sync` sends it later)  // 0: no
                         // heartbeats (RemoteEndpoint::heartbeat)
};

struct SenderReport {
  int64_t submitted = 0;  // records produced by this process
  int64_t unsent = 0;     // in the journal, not yet acknowledged
  int64_t rejected = 0;   // put aside in rejected.jsonl by this process
};

class RecordSender {
 public:
  // `dir` holds journal.jsonl and rejected.jsonl. An existing journal is continued: its run is
  // given to the endpoint and its unacknowledged records are sent first.
  RecordSender(std::string name, std::filesystem::path dir, std::unique_ptr<RemoteEndpoint> endpoint,
               SenderOptions options = {});
  ~RecordSender();  // finish(0 s) if finish() was not called
  RecordSender(const RecordSender&) = delete;
  RecordSender& operator=(const RecordSender&) = delete;

  // Training thread. Never waits on the network. Returns the record's seq.
  int64_t submit(std::string type, Json body);
  // Writes everything submitted so far to the journal and syncs it to disk (at every checkpoint).
  void sync_journal();
  // Waits up to `budget` for every record to be done, then stops the thread. What is left stays in
  // the journal. Safe to call more than once; submit() after it starts the thread again.
  SenderReport finish(std::chrono::milliseconds budget);
  // True when every record submitted so far is acknowledged or rejected.
  bool idle() const;
  SenderReport report() const;
  Json run() const;  // the remote run's identity as last known
  const std::filesystem::path& journal_path() const { return journal_path_; }
  const std::filesystem::path& rejected_path() const { return rejected_path_; }

 private:
  void start_thread();
  void run_thread();
  bool step_thread(std::unique_lock<std::mutex>& lock);  // one turn of the thread's loop; false: stop
  void journal_queue_locked(bool on_sender_thread);
  void load_from_journal_locked();
  void send_batch(std::unique_lock<std::mutex>& lock);
  void on_delivered(const Delivery& d);
  void on_rejected(const Delivery& d);
  void on_failure(const Delivery& d);
  void report_once(const std::string& message);

  std::string name_;
  std::filesystem::path journal_path_;
  std::filesystem::path rejected_path_;
  std::unique_ptr<RemoteEndpoint> endpoint_;
  SenderOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::unique_ptr<RecordJournal> journal_;
  std::deque<TrackingRecord> queue_;  // submitted, not yet in the journal
  std::chrono::steady_clock::time_point queue_since_;
  std::vector<TrackingRecord> in_flight_;  // journaled, not acknowledged, in seq order (sender thread)
  int64_t next_seq_ = 1;
  int64_t journaled_seq_ = 0;  // highest seq in the journal
  int64_t loaded_seq_ = 0;     // highest seq moved into in_flight_ (later ones are read back)
  int64_t acked_seq_ = 0;
  uint64_t read_offset_ = 0;
  Json run_;
  bool stop_ = false;
  bool blocked_ = false;
  bool thread_done_ = true;
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  std::thread thread_;

  // Sender thread only.
  int failures_in_a_row_ = 0;
  size_t isolate_ = 0;  // records to send one at a time (after a rejected batch)
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::steady_clock::time_point batch_ready_{};
  std::chrono::steady_clock::time_point outage_since_{};
  std::chrono::steady_clock::time_point last_contact_{};
  std::set<std::string> reported_;
  std::mt19937 jitter_{std::random_device{}()};
  SenderReport report_;
};

}  // namespace trainer
