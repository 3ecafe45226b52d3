#pragma once
// CallbackHandler: the ordered list of callbacks and the dispatch of every event. It resets the
// control flags the original resets before each event, then calls the callbacks in list order; all
// callbacks share one TrainerControl, so a flag one sets is seen by the next and by the loop.

#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <vector>

#include "trainer/core/callback.h"

namespace trainer {

class CallbackHandler {
 public:
  CallbackHandler() = default;
  explicit CallbackHandler(std::vector<std::shared_ptr<TrainerCallback>> callbacks);

  // Adds an instance. Warns (and still adds) when one of the exact same class is present.
  void add_callback(std::shared_ptr<TrainerCallback> callback);
  // Adds a default-constructed instance of C ("by type").
  template <typename C>
  std::shared_ptr<C> add_callback() {
    static_assert(std::is_base_of_v<TrainerCallback, C>, "callbacks derive from trainer::TrainerCallback");
    auto cb = std::make_shared<C>();
    add_callback(cb);
    return cb;
  }

  // Removes and returns the first callback of class C (subclasses match); null when none.
  template <typename C>
  std::shared_ptr<C> pop_callback() {
    for (auto it = callbacks_.begin(); it != callbacks_.end(); ++it) {
      if (auto typed = std::dynamic_pointer_cast<C>(*it)) {
        callbacks_.erase(it);
        return typed;
      }
    }
    return nullptr;
  }
  // Removes and returns this instance; null when it is not registered.
  std::shared_ptr<TrainerCallback> pop_callback(const std::shared_ptr<TrainerCallback>& callback);

  // Removes the first callback of class C; nothing happens when there is none.
  template <typename C>
  void remove_callback() {
    pop_callback<C>();
  }
  // Removes this instance; throws std::invalid_argument when it is not registered.
  void remove_callback(const std::shared_ptr<TrainerCallback>& callback);

  const std::vector<std::shared_ptr<TrainerCallback>>& callbacks() const { return callbacks_; }
  // Class names, one per line (used in warnings).
  std::string callback_list() const;

  // The live objects passed to every event (model, optimizer, scheduler, data loaders).
  CallbackContext& context() { return context_; }

  using Args = TrainingArguments;
  void on_init_end(const Args& a, TrainerState& s, TrainerControl& c);
  void on_train_begin(const Args& a, TrainerState& s, TrainerControl& c);
  void on_train_end(const Args& a, TrainerState& s, TrainerControl& c);
  void on_epoch_begin(const Args& a, TrainerState& s, TrainerControl& c);
  void on_epoch_end(const Args& a, TrainerState& s, TrainerControl& c);
  void on_step_begin(const Args& a, TrainerState& s, TrainerControl& c);
  void on_substep_end(const Args& a, TrainerState& s, TrainerControl& c);
  void on_pre_optimizer_step(const Args& a, TrainerState& s, TrainerControl& c);
  void on_optimizer_step(const Args& a, TrainerState& s, TrainerControl& c);
  void on_step_end(const Args& a, TrainerState& s, TrainerControl& c);
  void on_evaluate(const Args& a, TrainerState& s, TrainerControl& c, const Json& metrics);
  void on_predict(const Args& a, TrainerState& s, TrainerControl& c, const Json& metrics);
  void on_save(const Args& a, TrainerState& s, TrainerControl& c);
  void on_log(const Args& a, TrainerState& s, TrainerControl& c, Json& logs);
  void on_prediction_step(const Args& a, TrainerState& s, TrainerControl& c);
  void on_checkpoint_published(const Args& a, TrainerState& s, TrainerControl& c, const std::string& checkpoint_dir);
  // Calls every callback even when one throws (each failure is logged); never throws.
  void on_exception(const Args& a, TrainerState& s, TrainerControl& c, std::exception_ptr error) noexcept;

 private:
  using Event = void (TrainerCallback::*)(const Args&, TrainerState&, TrainerControl&, CallbackContext&);
  void call_event(Event event, const Args& a, TrainerState& s, TrainerControl& c) {
    for (const auto& cb : callbacks_) ((*cb).*event)(a, s, c, context_);
  }

  std::vector<std::shared_ptr<TrainerCallback>> callbacks_;
  CallbackContext context_;
};

}  // namespace trainer
