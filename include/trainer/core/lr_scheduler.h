#pragma once
// Learning-rate schedules. The schedule arithmetic lives here, free of LibTorch; a scheduler
// writes each parameter group's rate through `set_lr`, which the Trainer binds to its optimizer.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "trainer/core/choices.h"
#include "trainer/core/json.h"

namespace trainer {

using SetLearningRate = std::function<void(size_t group, double lr)>;

class LRScheduler {
 public:
  LRScheduler(std::vector<double> base_lrs, SetLearningRate set_lr);
  virtual ~LRScheduler() = default;

  // Called once after every optimizer step (not for metric-driven schedulers).
  virtual void step() = 0;
  // Called with the evaluation metric after each evaluation; only metric-driven schedulers act.
  virtual void step_with_metric(double) {}
  virtual bool is_metric_driven() const { return false; }

  const std::vector<double>& get_last_lr() const { return last_lrs_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  int64_t last_epoch() const { return last_epoch_; }  // steps taken (torch's name)

  virtual Json state_dict() const;
  virtual void load_state_dict(const Json& state);

 protected:
  void apply(std::vector<double> lrs);

  std::vector<double> base_lrs_;
  std::vector<double> last_lrs_;
  SetLearningRate set_lr_;
  int64_t last_epoch_ = 0;
};

// torch.optim.lr_scheduler.LambdaLR: lr = base_lr * lambda(k) after k steps.
class LambdaLRScheduler : public LRScheduler {
 public:
  LambdaLRScheduler(std::vector<double> base_lrs, SetLearningRate set_lr, std::function<double(int64_t)> lambda);
  void step() override;
  void load_state_dict(const Json& state) override;
  double factor(int64_t k) const { return lambda_(k); }

 private:
  std::function<double(int64_t)> lambda_;
};

// torch.optim.lr_scheduler.ReduceLROnPlateau with torch's defaults (mode "min", factor 0.1,
// patience 10, threshold 1e-4 "rel", cooldown 0, min_lr 0, eps 1e-8), stepped after evaluations.
class ReduceLROnPlateauScheduler : public LRScheduler {
 public:
  ReduceLROnPlateauScheduler(std::vector<double> base_lrs, SetLearningRate set_lr, const Json& kwargs);
  void step() override {}
  void step_with_metric(double metric) override;
  bool is_metric_driven() const override { return true; }
  Json state_dict() const override;
  void load_state_dict(const Json& state) override;

 private:
  bool is_better(double a) const;
  std::string mode_ = "min";
  double factor_ = 0.1;
  int64_t patience_ = 10;
  double threshold_ = 1e-4;
  std::string threshold_mode_ = "rel";
  int64_t cooldown_ = 0;
  double min_lr_ = 0;
  double eps_ = 1e-8;
  double best_;
  int64_t num_bad_epochs_ = 0;
  int64_t cooldown_counter_ = 0;
};

// The multiplicative factor lambda(k) of a LambdaLR schedule type (every type except
// reduce_lr_on_plateau). `lr_init` is the optimizer's learning rate (polynomial, *_min_lr).
// Throws std::invalid_argument naming --lr_scheduler_type / --lr_scheduler_kwargs on bad input.
std::function<double(int64_t)> schedule_lambda(SchedulerType type, int64_t num_warmup_steps, int64_t num_training_steps,
                                               const Json& kwargs, double lr_init);

// The original's get_scheduler().
std::unique_ptr<LRScheduler> get_scheduler(SchedulerType type, std::vector<double> base_lrs, SetLearningRate set_lr,
                                           int64_t num_warmup_steps, int64_t num_training_steps,
                                           const Json& kwargs = Json::object());

}  // namespace trainer
