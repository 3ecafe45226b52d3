#include "trainer/core/lr_scheduler.h"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace trainer {
namespace {

constexpr double kPi = 3.14159265358979323846;

double warmup(int64_t k, int64_t w) { return static_cast<double>(k) / static_cast<double>(std::max<int64_t>(1, w)); }

double progress(int64_t k, int64_t w, int64_t t) {
  return static_cast<double>(k - w) / static_cast<double>(std::max<int64_t>(1, t - w));
}

[[noreturn]] void bad_kwargs(const std::string& type, const std::string& why) {
  throw std::invalid_argument("--lr_scheduler_kwargs for --lr_scheduler_type " + type + ": " + why);
}

double number(const Json& kwargs, const std::string& type, const char* key, double fallback) {
  if (!kwargs.contains(key) || kwargs[key].is_null()) return fallback;
  if (!kwargs[key].is_number()) bad_kwargs(type, std::string(key) + " must be a number");
  return kwargs[key].get<double>();
}

std::string text(const Json& kwargs, const std::string& type, const char* key, const std::string& fallback) {
  if (!kwargs.contains(key) || kwargs[key].is_null()) return fallback;
  if (!kwargs[key].is_string()) bad_kwargs(type, std::string(key) + " must be a string");
  return kwargs[key].get<std::string>();
}

void check_keys(const Json& kwargs, const std::string& type, std::initializer_list<const char*> allowed) {
  for (auto it = kwargs.begin(); it != kwargs.end(); ++it) {
    bool ok = false;
    std::string list;
    for (const char* a : allowed) {
      ok = ok || it.key() == a;
      list += (list.empty() ? "" : ", ") + std::string(a);
    }
    if (!ok)
      bad_kwargs(type,
                 "unknown option '" + it.key() + "'" + (list.empty() ? " (it takes none)" : " (valid: " + list + ")"));
  }
}

double min_lr_rate(const Json& kw, const std::string& type, double lr_init) {
  const bool has_min = kw.contains("min_lr") && !kw["min_lr"].is_null();
  const bool has_rate = kw.contains("min_lr_rate") && !kw["min_lr_rate"].is_null();
  if (has_min == has_rate) bad_kwargs(type, "give exactly one of min_lr or min_lr_rate");
  return has_min ? number(kw, type, "min_lr", 0) / lr_init : number(kw, type, "min_lr_rate", 0);
}

}  // namespace

LRScheduler::LRScheduler(std::vector<double> base_lrs, SetLearningRate set_lr)
    : base_lrs_(std::move(base_lrs)), last_lrs_(base_lrs_), set_lr_(std::move(set_lr)) {}

void LRScheduler::apply(std::vector<double> lrs) {
  last_lrs_ = std::move(lrs);
  if (set_lr_)
    for (size_t g = 0; g < last_lrs_.size(); ++g) set_lr_(g, last_lrs_[g]);
}

Json LRScheduler::state_dict() const {
  return Json{{"base_lrs", base_lrs_}, {"last_epoch", last_epoch_}, {"_last_lr", last_lrs_}};
}

void LRScheduler::load_state_dict(const Json& state) {
  last_epoch_ = state.at("last_epoch").get<int64_t>();
  base_lrs_ = state.at("base_lrs").get<std::vector<double>>();
  apply(state.at("_last_lr").get<std::vector<double>>());
}

LambdaLRScheduler::LambdaLRScheduler(std::vector<double> base_lrs, SetLearningRate set_lr,
                                     std::function<double(int64_t)> lambda)
    : LRScheduler(std::move(base_lrs), std::move(set_lr)), lambda_(std::move(lambda)) {
  // As torch's LambdaLR: construction applies lambda(0).
  std::vector<double> lrs;
  for (double b : base_lrs_) lrs.push_back(b * lambda_(0));
  apply(std::move(lrs));
}

void LambdaLRScheduler::step() {
  ++last_epoch_;
  std::vector<double> lrs;
  const double f = lambda_(last_epoch_);
  for (double b : base_lrs_) lrs.push_back(b * f);
  apply(std::move(lrs));
}

void LambdaLRScheduler::load_state_dict(const Json& state) {
  last_epoch_ = state.at("last_epoch").get<int64_t>();
  base_lrs_ = state.at("base_lrs").get<std::vector<double>>();
  std::vector<double> lrs;
  for (double b : base_lrs_) lrs.push_back(b * lambda_(last_epoch_));
  apply(std::move(lrs));
}

ReduceLROnPlateauScheduler::ReduceLROnPlateauScheduler(std::vector<double> base_lrs, SetLearningRate set_lr,
                                                       const Json& kw)
    : LRScheduler(std::move(base_lrs), std::move(set_lr)) {
  const std::string type = "reduce_lr_on_plateau";
  check_keys(kw, type, {"mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr", "eps"});
  mode_ = text(kw, type, "mode", mode_);
  if (mode_ != "min" && mode_ != "max") bad_kwargs(type, "mode must be \"min\" or \"max\"");
  factor_ = number(kw, type, "factor", factor_);
  if (factor_ >= 1.0) bad_kwargs(type, "factor must be < 1");
  patience_ = static_cast<int64_t>(number(kw, type, "patience", static_cast<double>(patience_)));
  threshold_ = number(kw, type, "threshold", threshold_);
  threshold_mode_ = text(kw, type, "threshold_mode", threshold_mode_);
  if (threshold_mode_ != "rel" && threshold_mode_ != "abs")
    bad_kwargs(type, "threshold_mode must be \"rel\" or \"abs\"");
  cooldown_ = static_cast<int64_t>(number(kw, type, "cooldown", static_cast<double>(cooldown_)));
  min_lr_ = number(kw, type, "min_lr", min_lr_);
  eps_ = number(kw, type, "eps", eps_);
  best_ = mode_ == "min" ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
  apply(base_lrs_);
}

bool ReduceLROnPlateauScheduler::is_better(double a) const {
  if (mode_ == "min" && threshold_mode_ == "rel") return a < best_ * (1.0 - threshold_);
  if (mode_ == "min") return a < best_ - threshold_;
  if (threshold_mode_ == "rel") return a > best_ * (threshold_ + 1.0);
  return a > best_ + threshold_;
}

void ReduceLROnPlateauScheduler::step_with_metric(double metric) {
  ++last_epoch_;
  if (is_better(metric)) {
    best_ = metric;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;
  }
  if (num_bad_epochs_ > patience_) {
    std::vector<double> lrs = last_lrs_;
    for (double& lr : lrs) {
      const double reduced = std::max(lr * factor_, min_lr_);
      if (lr - reduced > eps_) lr = reduced;
    }
    apply(std::move(lrs));
    cooldown_counter_ = cooldown_;
    num_bad_epochs_ = 0;
  }
}

Json ReduceLROnPlateauScheduler::state_dict() const {
  Json s = LRScheduler::state_dict();
  s["best"] = best_;
  s["num_bad_epochs"] = num_bad_epochs_;
  s["cooldown_counter"] = cooldown_counter_;
  return s;
}

void ReduceLROnPlateauScheduler::load_state_dict(const Json& state) {
  LRScheduler::load_state_dict(state);
  best_ = state.at("best").get<double>();
  num_bad_epochs_ = state.at("num_bad_epochs").get<int64_t>();
  cooldown_counter_ = state.at("cooldown_counter").get<int64_t>();
}

std::function<double(int64_t)> schedule_lambda(SchedulerType kind, int64_t W, int64_t T, const Json& kw_in,
                                               double lr_init) {
  const std::string type = to_string(kind);  // for the messages
  const Json kw = kw_in.is_null() ? Json::object() : kw_in;
  if (!kw.is_object()) bad_kwargs(type, "must be a JSON object");
  if (kind == SchedulerType::constant) {
    check_keys(kw, type, {});
    return [](int64_t) { return 1.0; };
  }
  if (kind == SchedulerType::constant_with_warmup) {
    check_keys(kw, type, {});
    return [W](int64_t k) { return k < W ? warmup(k, W) : 1.0; };
  }
  if (kind == SchedulerType::linear) {
    check_keys(kw, type, {});
    return [W, T](int64_t k) {
      if (k < W) return warmup(k, W);
      return std::max(0.0, static_cast<double>(T - k) / static_cast<double>(std::max<int64_t>(1, T - W)));
    };
  }
  if (kind == SchedulerType::cosine) {
    check_keys(kw, type, {"num_cycles"});
    const double c = number(kw, type, "num_cycles", 0.5);
    return [W, T, c](int64_t k) {
      if (k < W) return warmup(k, W);
      return std::max(0.0, 0.5 * (1.0 + std::cos(kPi * 2.0 * c * progress(k, W, T))));
    };
  }
  if (kind == SchedulerType::cosine_with_restarts) {
    check_keys(kw, type, {"num_cycles"});
    const double c = std::floor(number(kw, type, "num_cycles", 1));
    return [W, T, c](int64_t k) {
      if (k < W) return warmup(k, W);
      const double p = progress(k, W, T);
      if (p >= 1.0) return 0.0;
      return std::max(0.0, 0.5 * (1.0 + std::cos(kPi * std::fmod(c * p, 1.0))));
    };
  }
  if (kind == SchedulerType::polynomial) {
    check_keys(kw, type, {"lr_end", "power"});
    const double lr_end = number(kw, type, "lr_end", 1e-7);
    const double power = number(kw, type, "power", 1.0);
    if (!(lr_init > lr_end))
      bad_kwargs(type, "lr_end (" + python_float_repr(lr_end) + ") must be smaller than --learning_rate (" +
                           python_float_repr(lr_init) + ")");
    return [W, T, lr_end, power, lr_init](int64_t k) {
      if (k < W) return warmup(k, W);
      if (k > T) return lr_end / lr_init;
      const double remaining = 1.0 - static_cast<double>(k - W) / static_cast<double>(T - W);
      return ((lr_init - lr_end) * std::pow(remaining, power) + lr_end) / lr_init;
    };
  }
  if (kind == SchedulerType::inverse_sqrt) {
    check_keys(kw, type, {"timescale"});
    const double tau = number(kw, type, "timescale", W > 0 ? static_cast<double>(W) : 10000.0);
    return [W, tau](int64_t k) {
      if (k < W) return warmup(k, W);
      const double shift = tau - static_cast<double>(W);
      return 1.0 / std::sqrt((static_cast<double>(k) + shift) / tau);
    };
  }
  if (kind == SchedulerType::cosine_with_min_lr) {
    check_keys(kw, type, {"num_cycles", "min_lr", "min_lr_rate"});
    const double c = number(kw, type, "num_cycles", 0.5);
    const double r = min_lr_rate(kw, type, lr_init);
    return [W, T, c, r](int64_t k) {
      if (k < W) return warmup(k, W);
      const double f = 0.5 * (1.0 + std::cos(kPi * 2.0 * c * progress(k, W, T)));
      return std::max(0.0, f * (1.0 - r) + r);
    };
  }
  if (kind == SchedulerType::cosine_warmup_with_min_lr) {
    check_keys(kw, type, {"num_cycles", "min_lr", "min_lr_rate", "warmup_lr_rate"});
    const double c = number(kw, type, "num_cycles", 0.5);
    const double r = min_lr_rate(kw, type, lr_init);
    const bool has_w = kw.contains("warmup_lr_rate") && !kw["warmup_lr_rate"].is_null();
    const double w = number(kw, type, "warmup_lr_rate", 0);
    return [W, T, c, r, has_w, w](int64_t k) {
      if (k < W) {
        if (!has_w) return static_cast<double>(k + 1) / static_cast<double>(std::max<int64_t>(1, W));
        return w + (1.0 - w) * static_cast<double>(k) / static_cast<double>(std::max<int64_t>(1, W - 1));
      }
      const double p = static_cast<double>(k - W + 1) / static_cast<double>(std::max<int64_t>(1, T - W));
      const double f = 0.5 * (1.0 + std::cos(kPi * c * 2.0 * p));
      return std::max(0.0, f * (1.0 - r) + r);
    };
  }
  if (kind == SchedulerType::warmup_stable_decay) {
    check_keys(kw, type,
               {"num_decay_steps", "num_stable_steps", "warmup_type", "decay_type", "min_lr_ratio", "num_cycles"});
    if (!kw.contains("num_decay_steps"))
      bad_kwargs(type, "num_decay_steps is required, e.g. '{\"num_decay_steps\": 100}'");
    const auto D = static_cast<int64_t>(number(kw, type, "num_decay_steps", 0));
    int64_t S = T - W - D;
    if (kw.contains("num_stable_steps") && !kw["num_stable_steps"].is_null())
      S = static_cast<int64_t>(number(kw, type, "num_stable_steps", 0));
    if (S < 0) bad_kwargs(type, "num_stable_steps would be negative; lower num_decay_steps or warmup");
    const std::string wt = text(kw, type, "warmup_type", "linear");
    const std::string dt = text(kw, type, "decay_type", "cosine");
    for (const auto& t : {wt, dt})
      if (t != "linear" && t != "cosine" && t != "1-sqrt")
        bad_kwargs(type, "warmup_type and decay_type must be linear, cosine or 1-sqrt");
    const double m = number(kw, type, "min_lr_ratio", 0.0);
    const double c = number(kw, type, "num_cycles", 0.5);
    return [W, S, D, wt, dt, m, c](int64_t k) {
      if (k < W) {
        const double q = static_cast<double>(k) / static_cast<double>(std::max<int64_t>(1, W));
        double f = wt == "linear" ? q : wt == "cosine" ? 0.5 * (1.0 - std::cos(kPi * q)) : 1.0 - std::sqrt(1.0 - q);
        return std::max(0.0, f * (1.0 - m) + m);
      }
      if (k < W + S) return 1.0;
      if (k < W + S + D) {
        const double q = static_cast<double>(k - W - S) / static_cast<double>(std::max<int64_t>(1, D));
        double f = dt == "linear"   ? 1.0 - q
                   : dt == "cosine" ? 0.5 * (1.0 + std::cos(kPi * c * 2.0 * q))
                                    : 1.0 - std::sqrt(q);
        return std::max(0.0, f * (1.0 - m) + m);
      }
      return m;
    };
  }
  throw std::invalid_argument("--lr_scheduler_type: unknown schedule '" + type + "'");
}

std::unique_ptr<LRScheduler> get_scheduler(SchedulerType type, std::vector<double> base_lrs, SetLearningRate set_lr,
                                           int64_t num_warmup_steps, int64_t num_training_steps, const Json& kwargs) {
  if (type == SchedulerType::reduce_lr_on_plateau)
    return std::make_unique<ReduceLROnPlateauScheduler>(std::move(base_lrs), std::move(set_lr),
                                                        kwargs.is_null() ? Json::object() : kwargs);
  const double lr_init = base_lrs.empty() ? 0.0 : base_lrs[0];
  auto lambda = schedule_lambda(type, num_warmup_steps, num_training_steps, kwargs, lr_init);
  return std::make_unique<LambdaLRScheduler>(std::move(base_lrs), std::move(set_lr), std::move(lambda));
}

}  // namespace trainer
