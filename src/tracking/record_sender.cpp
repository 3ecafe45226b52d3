#include "trainer/tracking/record_sender.h"

#include <algorithm>
#include <cmath>

#include "trainer/core/background_thread.h"
#include "trainer/core/logging.h"
#include "trainer/net/http_client.h"

namespace trainer {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The server's explanation: {"message": ...} (MLflow, most JSON APIs), else the text without tags.
std::string error_text(const HttpResponse& response) {
  try {
    const Json body = Json::parse(response.body);
    for (const char* key : {"message", "error", "detail"})
      if (body.contains(key) && body[key].is_string()) {
        const std::string code = body.value("error_code", std::string());
        return (code.empty() ? "" : code + ": ") + body[key].get<std::string>();
      }
  } catch (const std::exception&) {}
  std::string text;
  bool in_tag = false;
  for (char c : response.body) {
    if (c == '<')
      in_tag = true;
    else if (c == '>')
      in_tag = false;
    else if (!in_tag)
      text += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  }
  text.erase(std::unique(text.begin(), text.end(), [](char a, char b) { return a == ' ' && b == ' '; }), text.end());
  if (text.size() > 300) text = text.substr(0, 300) + "...";
  return text;
}

}  // namespace

Delivery classify_response(const HttpResponse& response, size_t count, const std::string& what) {
  Delivery d;
  d.count = count;
  if (response.status == 0) {
    // A TLS setting to fix blocks like bad credentials; anything else on the way may pass later.
    d.kind = response.needs_configuration ? Delivery::Kind::blocked : Delivery::Kind::retry;
    d.message = what + ": " + response.error;
    return d;
  }
  if (response.ok()) return Delivery::delivered(count);
  d.message = what + ": HTTP " + std::to_string(response.status);
  const std::string text = error_text(response);
  if (!text.empty() && text != " ") d.message += " " + text;
  const long s = response.status;
  if (s == 429 || s == 408 || s >= 500) {
    d.kind = Delivery::Kind::retry;
    d.retry_after = response.retry_after();
  } else if (s == 401 || s == 403) {
    d.kind = Delivery::Kind::blocked;  // nothing will get through until the credentials change
  } else {
    d.kind = Delivery::Kind::rejected;
  }
  return d;
}

RecordSender::RecordSender(std::string name, std::filesystem::path dir, std::unique_ptr<RemoteEndpoint> endpoint,
                           SenderOptions options)
    : name_(std::move(name)),
      journal_path_(dir / "journal.jsonl"),
      rejected_path_(dir / "rejected.jsonl"),
      endpoint_(std::move(endpoint)),
      options_(options) {
  const JournalSummary summary = RecordJournal::summarize(journal_path_);
  next_seq_ = summary.last_seq + 1;
  journaled_seq_ = summary.last_seq;
  acked_seq_ = loaded_seq_ = summary.acked;
  run_ = summary.run;
  if (!run_.is_null()) endpoint_->restore_run(run_);
  journal_ = std::make_unique<RecordJournal>(journal_path_);
  blocked_ = options_.offline;
  if (summary.unacked() > 0 && !options_.offline) {
    log_info(name_ + ": " + std::to_string(summary.unacked()) + " records of an earlier process were not sent yet (" +
             journal_path_.string() + "); they are sent first");
    start_thread();
  }
}

RecordSender::~RecordSender() { finish(milliseconds(0)); }

void RecordSender::start_thread() {
  thread_done_ = false;
  stop_ = false;
  deadline_ = Clock::time_point::max();
  thread_ = std::thread([this] { run_thread(); });
  set_background_thread(thread_, name_);
}

int64_t RecordSender::submit(std::string type, Json body) {
  std::lock_guard<std::mutex> lock(mutex_);
  TrackingRecord record{next_seq_++, std::move(type), std::move(body)};
  const int64_t seq = record.seq;
  if (queue_.empty()) queue_since_ = Clock::now();
  queue_.push_back(std::move(record));
  ++report_.submitted;
  // Beyond the bound the records go to disk now, on this thread: a local append, never the network.
  if (queue_.size() >= options_.max_records_in_memory) journal_queue_locked(false);
  if (!thread_.joinable()) start_thread();
  if (queue_.size() == 1) wake_.notify_one();
  return seq;
}

void RecordSender::journal_queue_locked(bool on_sender_thread) {
  if (queue_.empty()) return;
  bool contiguous = on_sender_thread;
  if (on_sender_thread && in_flight_.empty()) batch_ready_ = queue_since_ + options_.batch_delay;
  while (!queue_.empty()) {
    TrackingRecord& r = queue_.front();
    journal_->append(r);  // may throw (a full disk): what is not in the journal stays queued
    journaled_seq_ = r.seq;
    // in_flight_ and loaded_seq_ belong to the sender thread; the training thread only journals.
    if (on_sender_thread && loaded_seq_ == r.seq - 1 && in_flight_.size() < options_.max_records_in_memory) {
      loaded_seq_ = r.seq;
      in_flight_.push_back(std::move(r));
    } else {
      contiguous = false;
    }
    queue_.pop_front();
  }
  journal_->flush();
  if (contiguous) read_offset_ = journal_->end_offset();
}

void RecordSender::load_from_journal_locked() {
  if (loaded_seq_ >= journaled_seq_ || in_flight_.size() >= options_.max_records_in_memory / 2) return;
  const size_t room = options_.max_records_in_memory - in_flight_.size();
  for (TrackingRecord& r : journal_->read_after(loaded_seq_, room, read_offset_)) {
    loaded_seq_ = r.seq;
    in_flight_.push_back(std::move(r));
  }
}

void RecordSender::sync_journal() {
  std::lock_guard<std::mutex> lock(mutex_);
  journal_queue_locked(false);
  journal_->sync();
}

void RecordSender::run_thread() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    try {
      if (!step_thread(lock)) break;
    } catch (const std::exception& e) {  // the journal cannot be written (a full disk): wait, try again
      report_once(name_ + ": cannot write its journal " + journal_path_.string() + ": " + e.what() +
                  "; the records wait in memory and it tries again every second");
      if (stop_) break;
      wake_.wait_for(lock, std::chrono::seconds(1), [&] { return stop_; });
    }
  }
  try {
    journal_queue_locked(true);
  } catch (const std::exception&) {}
  thread_done_ = true;
  done_.notify_all();
}

bool RecordSender::step_thread(std::unique_lock<std::mutex>& lock) {
  {
    // Everything submitted goes to the journal at once (crash safety); sending waits for a batch.
    journal_queue_locked(true);
    if (in_flight_.empty()) load_from_journal_locked();
    const auto now = Clock::now();
    const bool work = !in_flight_.empty();
    if (stop_ && (!work || blocked_ || now >= deadline_)) return false;
    if (!work && !blocked_ && !stop_ && options_.heartbeat_interval.count() > 0 && !run_.is_null()) {
      const auto due = last_contact_ + options_.heartbeat_interval;
      if (now < due) {
        wake_.wait_until(lock, due, [&] { return stop_ || !queue_.empty(); });
        return true;
      }
      last_contact_ = now;
      lock.unlock();  // the network is never under the lock
      endpoint_->heartbeat();
      lock.lock();
      return true;
    }
    if (!work || blocked_) {
      wake_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      return true;
    }
    if (!stop_ && now < batch_ready_) {
      wake_.wait_until(lock, batch_ready_, [&] { return stop_; });
      return true;
    }
    if (now < next_attempt_) {
      // Backing off: keep journaling what arrives; wake for the next attempt or the deadline.
      wake_.wait_until(lock, std::min({next_attempt_, now + options_.batch_delay, deadline_}));
      return true;
    }
    send_batch(lock);
    done_.notify_all();
  }
  return true;
}

void RecordSender::send_batch(std::unique_lock<std::mutex>& lock) {
  const size_t n = std::min(in_flight_.size(), isolate_ > 0 ? size_t{1} : options_.max_records_per_send);
  std::vector<TrackingRecord> batch(in_flight_.begin(), in_flight_.begin() + static_cast<std::ptrdiff_t>(n));
  lock.unlock();  // the network is never under the lock
  Delivery d;
  try {
    d = endpoint_->send(batch);
    d.count = std::clamp<size_t>(d.count, 1, n);
  } catch (const std::exception& e) {
    d = Delivery{Delivery::Kind::retry, n, name_ + ": " + e.what(), std::nullopt};
  }
  lock.lock();
  last_contact_ = Clock::now();
  switch (d.kind) {
    case Delivery::Kind::delivered: on_delivered(d); break;
    case Delivery::Kind::rejected: on_rejected(d); break;
    case Delivery::Kind::retry: on_failure(d); break;
    case Delivery::Kind::blocked:
      blocked_ = true;
      report_once(d.message + "; nothing more is sent by this process. Every record stays in " +
                  journal_path_.string() +
                  (options_.resend_command.empty() ? "" : "; once fixed, send them with: " + options_.resend_command));
      break;
  }
}

void RecordSender::on_delivered(const Delivery& d) {
  const int64_t last = in_flight_[d.count - 1].seq;
  in_flight_.erase(in_flight_.begin(), in_flight_.begin() + static_cast<std::ptrdiff_t>(d.count));
  const Json run = endpoint_->run();
  if (run != run_) {
    run_ = run;
    journal_->append_run(run_);  // before the acknowledgement: the records it covers belong to this run
  }
  acked_seq_ = last;
  journal_->append_acked(last);
  journal_->flush();
  isolate_ = isolate_ > d.count ? isolate_ - d.count : 0;
  if (failures_in_a_row_ > 0) {
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - outage_since_).count();
    // At the level of the warning that said it failed, so whoever saw that one sees this.
    log_warning(name_ + ": the server answers again after " + std::to_string(seconds) + " s; sending what was kept");
  }
  failures_in_a_row_ = 0;
  next_attempt_ = {};
}

void RecordSender::on_rejected(const Delivery& d) {
  if (d.count > 1 && isolate_ == 0) {
    isolate_ = d.count;  // find which records the service refuses, and send the others
    return;
  }
  const TrackingRecord& record = in_flight_.front();
  try {
    append_rejected_record(rejected_path_, record, d.message);
  } catch (const std::exception& e) {
    report_once(name_ + ": " + e.what() + "; the refused record stays unacknowledged in the journal");
    blocked_ = true;
    return;
  }
  ++report_.rejected;
  report_once(d.message + " (refused for good; the record is kept in " + rejected_path_.string() + ")");
  on_delivered(Delivery::delivered(1));
}

void RecordSender::on_failure(const Delivery& d) {
  const auto now = Clock::now();
  if (failures_in_a_row_++ == 0) {
    outage_since_ = now;
    log_warning(d.message + "; retrying in the background (training goes on; records are kept in " +
                journal_path_.string() + ")");
  }
  const double base = std::min<double>(static_cast<double>(options_.max_backoff.count()),
                                       options_.initial_backoff.count() * std::pow(2.0, failures_in_a_row_ - 1));
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  milliseconds delay(static_cast<int64_t>(base * jitter(jitter_)));
  if (d.retry_after) delay = std::min<milliseconds>(*d.retry_after, milliseconds(600000));
  next_attempt_ = now + delay;
}

void RecordSender::report_once(const std::string& message) {
  if (reported_.insert(message).second) log_warning(message);
}

SenderReport RecordSender::finish(milliseconds budget) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (thread_.joinable()) {
    stop_ = true;
    deadline_ = Clock::now() + budget;
    wake_.notify_all();
    if (!done_.wait_until(lock, deadline_, [&] { return thread_done_; })) {
      endpoint_->set_aborted(true);  // the request in flight returns now
      done_.wait(lock, [&] { return thread_done_; });
      endpoint_->set_aborted(false);
    }
    lock.unlock();
    thread_.join();
    lock.lock();
  }
  journal_queue_locked(false);
  journal_->flush();
  SenderReport r = report_;
  r.unsent = (next_seq_ - 1) - acked_seq_;
  return r;
}

bool RecordSender::idle() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.empty() && acked_seq_ == next_seq_ - 1;
}

SenderReport RecordSender::report() const {
  std::lock_guard<std::mutex> lock(mutex_);
  SenderReport r = report_;
  r.unsent = (next_seq_ - 1) - acked_seq_;
  return r;
}

Json RecordSender::run() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return run_;
}

}  // namespace trainer
