#include "trainer/integrations/report/report_callback.h"

#include <chrono>
#include <filesystem>

#include "trainer/core/atomic_file.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"
#include "trainer/integrations/report/html_report.h"

namespace trainer {

namespace fs = std::filesystem;

struct ReportCallback::Pages {
  int64_t queued = 0;
  BackgroundWriter writer{"report", 4};
};

namespace {

class ReportTracker : public Tracker {
 public:
  ReportTracker(double min_interval, std::shared_ptr<ReportCallback::Pages> pages)
      : min_interval_(min_interval), pages_(std::move(pages)) {}

  void start_run(const RunStart&) override {}
  void train_started() override {
    running_ = true;
    write();
  }
  void log_metrics(const Json&, int64_t) override { write_if_due(); }
  void evaluated(const Json&) override { write(); }
  void checkpoint_saved() override { write_if_due(); }  // saves can come every step; the page keeps to its interval
  void finish(RunStatus) override {
    running_ = false;
    write();
    pages_->writer.finish();
  }

 private:
  void write_if_due() {
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - last_).count() >= min_interval_) write();
  }

  void write() {
    last_ = std::chrono::steady_clock::now();
    ++pages_->queued;
    const fs::path path = fs::path(args().output_dir) / "report.html";
    // Snapshots: the loop goes on changing the state while the page is rendered.
    Json state_json = state().to_json(), args_json = args().to_json();
    const bool running = running_;
    pages_->writer.enqueue([path, state_json = std::move(state_json), args_json = std::move(args_json), running] {
      fs::create_directories(path.parent_path());
      write_file_atomic(path, render_report_html(state_json, args_json, running), Durability::kReplaceOnly);
    });
  }

  double min_interval_;
  std::shared_ptr<ReportCallback::Pages> pages_;
  bool running_ = false;
  std::chrono::steady_clock::time_point last_{};
};

TrackerTraits report_traits() {
  TrackerTraits t;
  t.callback_name = "ReportCallback";
  t.values = ValueFilter::everything;  // the page is drawn from the state, not from the values
  return t;
}

}  // namespace

ReportCallback::ReportCallback(double min_interval_seconds)
    : ReportCallback(min_interval_seconds, std::make_shared<Pages>()) {}

ReportCallback::ReportCallback(double min_interval_seconds, std::shared_ptr<Pages> pages)
    : TrackerCallback(report_traits(),
                      [min_interval_seconds, pages](const Args&) {
                        return std::make_unique<ReportTracker>(min_interval_seconds, pages);
                      }),
      pages_(std::move(pages)) {}

BackgroundWriter& ReportCallback::writer() { return pages_->writer; }

int64_t ReportCallback::reports_queued() const { return pages_->queued; }

}  // namespace trainer
