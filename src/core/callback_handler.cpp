#include "trainer/core/callback_handler.h"

#include <algorithm>
#include <stdexcept>

#include "trainer/core/json.h"
#include "trainer/core/logging.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"

namespace trainer {

CallbackHandler::CallbackHandler(std::vector<std::shared_ptr<TrainerCallback>> callbacks) {
  for (auto& cb : callbacks) add_callback(std::move(cb));
}

void CallbackHandler::add_callback(std::shared_ptr<TrainerCallback> callback) {
  if (!callback) throw std::invalid_argument("add_callback: the callback is null");
  const auto& type = typeid(*callback);
  for (const auto& existing : callbacks_) {
    if (typeid(*existing) == type) {
      log_warning("You are adding a " + callback->name() +
                  " to the callbacks of this Trainer, but there is already one. The current list of callbacks is:\n" +
                  callback_list());
      break;
    }
  }
  callbacks_.push_back(std::move(callback));
}

std::shared_ptr<TrainerCallback> CallbackHandler::pop_callback(const std::shared_ptr<TrainerCallback>& callback) {
  auto it = std::find(callbacks_.begin(), callbacks_.end(), callback);
  if (it == callbacks_.end()) return nullptr;
  auto found = *it;
  callbacks_.erase(it);
  return found;
}

void CallbackHandler::remove_callback(const std::shared_ptr<TrainerCallback>& callback) {
  if (!pop_callback(callback))
    throw std::invalid_argument("remove_callback: " + (callback ? callback->name() : std::string("null")) +
                                " is not registered with this Trainer");
}

std::string CallbackHandler::callback_list() const {
  std::string out;
  for (size_t i = 0; i < callbacks_.size(); ++i) out += (i ? "\n" : "") + callbacks_[i]->name();
  return out;
}

void CallbackHandler::on_init_end(const Args& a, TrainerState& s, TrainerControl& c) {
  call_event(&TrainerCallback::on_init_end, a, s, c);
}

void CallbackHandler::on_train_begin(const Args& a, TrainerState& s, TrainerControl& c) {
  c.should_training_stop = false;
  call_event(&TrainerCallback::on_train_begin, a, s, c);
}

void CallbackHandler::on_train_end(const Args& a, TrainerState& s, TrainerControl& c) {
  call_event(&TrainerCallback::on_train_end, a, s, c);
}

void CallbackHandler::on_epoch_begin(const Args& a, TrainerState& s, TrainerControl& c) {
  c.should_epoch_stop = false;
  call_event(&TrainerCallback::on_epoch_begin, a, s, c);
}

void CallbackHandler::on_epoch_end(const Args& a, TrainerState& s, TrainerControl& c) {
  call_event(&TrainerCallback::on_epoch_end, a, s, c);
}

void CallbackHandler::on_step_begin(const Args& a, TrainerState& s, TrainerControl& c) {
  c.should_log = false;
  c.should_evaluate = false;
  c.should_save = false;
  call_event(&TrainerCallback::on_step_begin, a, s, c);
}

void CallbackHandler::on_substep_end(const Args& a, TrainerState& s, TrainerControl& c) {
  call_event(&TrainerCallback::on_substep_end, a, s, c);
}

void CallbackHandler::on_pre_optimizer_step(const Args& a, TrainerState& s, TrainerControl& c) {
  call_event(&TrainerCallback::on_pre_optimizer_step, a, s, c);
}

void CallbackHandler::on_optimizer_step(const Args& a, TrainerState& s, TrainerControl& c) {
  call_event(&TrainerCallback::on_optimizer_step, a, s, c);
}

void CallbackHandler::on_step_end(const Args& a, TrainerState& s, TrainerControl& c) {
  call_event(&TrainerCallback::on_step_end, a, s, c);
}

void CallbackHandler::on_evaluate(const Args& a, TrainerState& s, TrainerControl& c, const Json& metrics) {
  c.should_evaluate = false;
  context_.metrics = &metrics;
  call_event(&TrainerCallback::on_evaluate, a, s, c);
  context_.metrics = nullptr;
}

void CallbackHandler::on_predict(const Args& a, TrainerState& s, TrainerControl& c, const Json& metrics) {
  context_.metrics = &metrics;
  call_event(&TrainerCallback::on_predict, a, s, c);
  context_.metrics = nullptr;
}

void CallbackHandler::on_save(const Args& a, TrainerState& s, TrainerControl& c) {
  c.should_save = false;
  call_event(&TrainerCallback::on_save, a, s, c);
}

void CallbackHandler::on_log(const Args& a, TrainerState& s, TrainerControl& c, Json& logs) {
  c.should_log = false;
  context_.logs = &logs;
  call_event(&TrainerCallback::on_log, a, s, c);
  context_.logs = nullptr;
}

void CallbackHandler::on_prediction_step(const Args& a, TrainerState& s, TrainerControl& c) {
  call_event(&TrainerCallback::on_prediction_step, a, s, c);
}

void CallbackHandler::on_checkpoint_published(const Args& a, TrainerState& s, TrainerControl& c,
                                              const std::string& checkpoint_dir) {
  context_.checkpoint_dir = checkpoint_dir;
  call_event(&TrainerCallback::on_checkpoint_published, a, s, c);
  context_.checkpoint_dir.clear();
}

void CallbackHandler::on_exception(const Args& a, TrainerState& s, TrainerControl& c,
                                   std::exception_ptr error) noexcept {
  context_.exception = error;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    context_.exception_message = e.what();
  } catch (...) {
    context_.exception_message = "unknown exception";
  }
  for (const auto& cb : callbacks_) {
    try {
      cb->on_exception(a, s, c, context_);
    } catch (const std::exception& e) {
      log_warning(cb->name() + ".on_exception failed: " + e.what());
    } catch (...) {
      log_warning(cb->name() + ".on_exception failed");
    }
  }
  context_.exception = nullptr;
  context_.exception_message.clear();
}

}  // namespace trainer
