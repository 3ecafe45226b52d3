#pragma once
// ReportCallback (`--report_to report`): keeps <output_dir>/report.html (see html_report.h) up to
// date while training runs: at the start, after every evaluation, after a log or a save when the
// page is older than `min_interval_seconds`, and at the end. Each version replaces the previous
// one atomically, so a browser never reads half a page. Only world process zero writes (the tracker
// layer's gating); rendering and writing happen on a BackgroundWriter.

#include <cstdint>
#include <memory>

#include "trainer/core/background_writer.h"
#include "trainer/tracking/tracker_callback.h"

namespace trainer {

class ReportCallback : public TrackerCallback {
 public:
  explicit ReportCallback(double min_interval_seconds = 10.0);
  BackgroundWriter& writer();
  int64_t reports_queued() const;

  struct Pages;  // the writer thread and the count of pages queued, shared with the tracker

 private:
  ReportCallback(double min_interval_seconds, std::shared_ptr<Pages> pages);
  std::shared_ptr<Pages> pages_;
};

}  // namespace trainer
