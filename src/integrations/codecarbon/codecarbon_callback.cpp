#include "trainer/integrations/codecarbon/codecarbon_callback.h"

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace trainer {

struct CodeCarbonCallback::Measurement {
  Measurement(std::optional<CodeCarbonConfig> c, EmissionsSources s) : config(std::move(c)), sources(std::move(s)) {}
  ~Measurement() {
    stop_ticker();
    writer.drain();  // runs what is queued while the emissions tracker still exists
  }

  void create(const std::string& output_dir) {
    if (!config) config = CodeCarbonConfig::load();
    emissions = std::make_unique<EmissionsTracker>(*config, output_dir, sources);
  }

  // A row every measure_power_secs while training.
  void start_ticker() {
    stop_ticker();
    EmissionsTracker* tracker = emissions.get();
    writer.enqueue([tracker] { tracker->start(); });
    stop = false;
    const auto interval = std::chrono::duration<double>(config->measure_power_secs);
    ticker = std::thread([this, tracker, interval] {
      for (;;) {
        {
          std::unique_lock<std::mutex> lock(mutex);
          if (cv.wait_for(lock, interval, [this] { return stop; })) return;
        }
        writer.enqueue([tracker] { tracker->flush(); });
      }
    });
  }

  void stop_ticker() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stop = true;
    }
    cv.notify_all();
    if (ticker.joinable()) ticker.join();
  }

  std::optional<CodeCarbonConfig> config;
  EmissionsSources sources;
  std::unique_ptr<EmissionsTracker> emissions;
  std::mutex mutex;
  std::condition_variable cv;
  bool stop = false;
  std::thread ticker;
  BackgroundWriter writer{"codecarbon"};
};

namespace {

class CodeCarbonTracker : public Tracker {
 public:
  explicit CodeCarbonTracker(std::shared_ptr<CodeCarbonCallback::Measurement> m) : m_(std::move(m)) {}
  void start_run(const RunStart& run) override {
    if (!m_->emissions) m_->create(run.output_dir);
  }
  void train_started() override { m_->start_ticker(); }
  void log_metrics(const Json&, int64_t) override {}
  void finish(RunStatus) override {
    m_->stop_ticker();
    EmissionsTracker* tracker = m_->emissions.get();
    m_->writer.enqueue([tracker] { tracker->flush(); });
    m_->writer.finish();
  }

 private:
  std::shared_ptr<CodeCarbonCallback::Measurement> m_;
};

TrackerTraits codecarbon_traits() {
  TrackerTraits t;
  t.callback_name = "CodeCarbonCallback";
  t.gate = ProcessGate::local_process_zero;  // one tracker per machine
  t.start_at_init = true;
  return t;
}

}  // namespace

CodeCarbonCallback::CodeCarbonCallback(std::optional<CodeCarbonConfig> config, EmissionsSources sources)
    : CodeCarbonCallback(std::make_shared<Measurement>(std::move(config), std::move(sources))) {}

CodeCarbonCallback::CodeCarbonCallback(std::shared_ptr<Measurement> m)
    : TrackerCallback(codecarbon_traits(), [m](const Args&) { return std::make_unique<CodeCarbonTracker>(m); }),
      measurement_(std::move(m)) {}

CodeCarbonCallback::~CodeCarbonCallback() = default;

BackgroundWriter& CodeCarbonCallback::writer() { return measurement_->writer; }

const EmissionsTracker* CodeCarbonCallback::tracker() const { return measurement_->emissions.get(); }

}  // namespace trainer
