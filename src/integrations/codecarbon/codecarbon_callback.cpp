#include "trainer/integrations/codecarbon/codecarbon_callback.h"

#include <chrono>

namespace trainer {

CodeCarbonCallback::CodeCarbonCallback(std::optional<CodeCarbonConfig> config, EmissionsSources sources)
    : config_(std::move(config)), sources_(std::move(sources)), writer_(std::make_unique<BackgroundWriter>("codecarbon")) {}

CodeCarbonCallback::~CodeCarbonCallback() {
  stop_ticker();
  writer_.reset();  // runs what is queued while the tracker still exists
}

void CodeCarbonCallback::create_tracker(const Args& args) {
  if (!config_) config_ = CodeCarbonConfig::load();
  tracker_ = std::make_unique<EmissionsTracker>(*config_, args.output_dir, sources_);
}

void CodeCarbonCallback::on_init_end(const Args& args, TrainerState& state, TrainerControl&, CallbackContext&) {
  if (state.is_local_process_zero && !tracker_) create_tracker(args);
}

void CodeCarbonCallback::on_train_begin(const Args& args, TrainerState& state, TrainerControl&, CallbackContext&) {
  if (!state.is_local_process_zero) return;
  if (!tracker_) create_tracker(args);
  stop_ticker();
  EmissionsTracker* tracker = tracker_.get();
  writer_->enqueue([tracker] { tracker->start(); });
  stop_ = false;
  const auto interval = std::chrono::duration<double>(config_->measure_power_secs);
  ticker_ = std::thread([this, tracker, interval] {
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        if (cv_.wait_for(lock, interval, [this] { return stop_; })) return;
      }
      writer_->enqueue([tracker] { tracker->flush(); });
    }
  });
}

void CodeCarbonCallback::stop_ticker() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

void CodeCarbonCallback::on_train_end(const Args&, TrainerState& state, TrainerControl&, CallbackContext&) {
  if (!state.is_local_process_zero || !tracker_) return;
  stop_ticker();
  EmissionsTracker* tracker = tracker_.get();
  writer_->enqueue([tracker] { tracker->flush(); });
  writer_->finish();
}

}  // namespace trainer
