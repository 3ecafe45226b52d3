#include "trainer/core/callback_handler.h"

#include <gtest/gtest.h>

#include "test_support.h"
#include "trainer/callbacks/default_flow_callback.h"
#include "trainer/callbacks/printer_callback.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"

namespace trainer {
namespace {

struct Recorder : TrainerCallback {
  std::vector<std::string>* events;
  explicit Recorder(std::vector<std::string>* e = nullptr) : events(e) {}
  void on_step_begin(const Args&, TrainerState&, TrainerControl&, CallbackContext&) override {
    if (events) events->push_back(name() + ":step_begin");
  }
};
struct OtherRecorder : Recorder {
  using Recorder::Recorder;
};
struct SetsFlags : TrainerCallback {
  void on_step_begin(const Args&, TrainerState&, TrainerControl& c, CallbackContext&) override { c.should_save = true; }
  void on_log(const Args&, TrainerState&, TrainerControl&, CallbackContext& ctx) override { (*ctx.logs)["added"] = 1; }
};
struct SeesFlags : TrainerCallback {
  bool saw_save = false;
  bool saw_added = false;
  void on_step_begin(const Args&, TrainerState&, TrainerControl& c, CallbackContext&) override {
    saw_save = c.should_save;
  }
  void on_log(const Args&, TrainerState&, TrainerControl&, CallbackContext& ctx) override {
    saw_added = ctx.logs->contains("added");
  }
};

TEST(CallbackHandler, KeepsInsertionOrderAndDispatchesInIt) {
  std::vector<std::string> events;
  CallbackHandler h({std::make_shared<Recorder>(&events), std::make_shared<OtherRecorder>(&events)});
  TrainingArguments a;
  TrainerState s;
  TrainerControl c;
  h.on_step_begin(a, s, c);
  EXPECT_EQ(events, (std::vector<std::string>{"Recorder:step_begin", "OtherRecorder:step_begin"}));
  EXPECT_EQ(h.callback_list(), "Recorder\nOtherRecorder");
}

TEST(CallbackHandler, DuplicateOfTheExactClassWarnsButIsAdded) {
  testing::CapturedLogs logs;
  CallbackHandler h;
  h.add_callback<Recorder>();
  h.add_callback<OtherRecorder>();  // a subclass: no warning
  EXPECT_TRUE(logs.messages.empty());
  h.add_callback(std::make_shared<Recorder>());
  ASSERT_EQ(logs.messages.size(), 1u);
  EXPECT_TRUE(logs.contains("already one"));
  EXPECT_TRUE(logs.contains("Recorder\nOtherRecorder"));
  EXPECT_EQ(h.callbacks().size(), 3u);
}

TEST(CallbackHandler, PopAndRemoveFollowTheOriginal) {
  CallbackHandler h;
  auto other = h.add_callback<OtherRecorder>();
  auto rec = h.add_callback<Recorder>();
  // By type: the first instance, subclasses match.
  EXPECT_EQ(h.pop_callback<Recorder>(), other);
  EXPECT_EQ(h.pop_callback<DefaultFlowCallback>(), nullptr);
  // By instance.
  EXPECT_EQ(h.pop_callback(rec), rec);
  EXPECT_EQ(h.pop_callback(rec), nullptr);
  EXPECT_TRUE(h.callbacks().empty());
  h.remove_callback<Recorder>();  // nothing there: no error
  EXPECT_THROW(h.remove_callback(rec), std::invalid_argument);
  h.add_callback(rec);
  h.remove_callback(rec);
  EXPECT_TRUE(h.callbacks().empty());
  EXPECT_THROW(h.add_callback(nullptr), std::invalid_argument);
}

TEST(CallbackHandler, ResetsFlagsBeforeTheEventsTheOriginalResets) {
  CallbackHandler h;
  TrainingArguments a;
  TrainerState s;
  TrainerControl c{true, true, true, true, true};
  h.on_epoch_begin(a, s, c);
  EXPECT_FALSE(c.should_epoch_stop);
  EXPECT_TRUE(c.should_training_stop && c.should_save && c.should_evaluate && c.should_log);
  h.on_step_begin(a, s, c);
  EXPECT_FALSE(c.should_save || c.should_evaluate || c.should_log);
  EXPECT_TRUE(c.should_training_stop);
  c = TrainerControl{true, true, true, true, true};
  h.on_step_end(a, s, c);
  h.on_epoch_end(a, s, c);
  h.on_substep_end(a, s, c);
  h.on_pre_optimizer_step(a, s, c);
  h.on_optimizer_step(a, s, c);
  h.on_prediction_step(a, s, c);
  EXPECT_EQ(c, (TrainerControl{true, true, true, true, true}));
  Json logs = Json::object();
  h.on_log(a, s, c, logs);
  EXPECT_FALSE(c.should_log);
  h.on_evaluate(a, s, c, logs);
  EXPECT_FALSE(c.should_evaluate);
  h.on_save(a, s, c);
  EXPECT_FALSE(c.should_save);
  h.on_train_begin(a, s, c);
  EXPECT_FALSE(c.should_training_stop);
  EXPECT_TRUE(c.should_epoch_stop);
}

TEST(CallbackHandler, LaterCallbacksSeeEarlierChangesToControlAndLogs) {
  CallbackHandler h;
  h.add_callback<SetsFlags>();
  auto sees = h.add_callback<SeesFlags>();
  TrainingArguments a;
  TrainerState s;
  TrainerControl c;
  h.on_step_begin(a, s, c);
  EXPECT_TRUE(sees->saw_save);
  EXPECT_TRUE(c.should_save);  // set after the reset, so it stays
  Json logs = Json{{"loss", 1.0}};
  h.on_log(a, s, c, logs);
  EXPECT_TRUE(sees->saw_added);
  EXPECT_EQ(logs["added"], 1);
  EXPECT_EQ(h.context().logs, nullptr);  // only valid during on_log
}

TEST(TrainerControl, StateHasTheExportableLayout) {
  TrainerControl c;
  c.should_save = true;
  Json st = c.state();
  EXPECT_EQ(st["args"]["should_save"], true);
  EXPECT_EQ(st["args"].size(), 5u);
  EXPECT_EQ(st["attributes"], Json::object());
  EXPECT_EQ(TrainerControl::from_state(st), c);
}

TEST(PrinterCallback, FormatsLikeTheOriginalAndDropsTotalFlos) {
  EXPECT_EQ(
      format_logs(Json{{"loss", 0.51234567}, {"learning_rate", 4.5e-05}, {"epoch", 0.1}, {"step", 3}, {"note", "hi"}}),
      "{'loss': 0.5123, 'learning_rate': 4.5e-05, 'epoch': 0.1, 'step': 3, 'note': 'hi'}");
  EXPECT_EQ(format_logs(Json{{"text", std::string(12, 'x')}}, 10),
            "{'text': '[String too long to display, length: 12 > 10. Consider increasing `max_str_len` if needed.]'}");
  std::FILE* out = std::tmpfile();
  PrinterCallback p(out);
  TrainingArguments a;
  TrainerState s;
  TrainerControl c;
  Json logs = Json{{"loss", 1.0}, {"total_flos", 5.0}};
  CallbackContext ctx;
  ctx.logs = &logs;
  p.on_log(a, s, c, ctx);
  EXPECT_FALSE(logs.contains("total_flos"));
  std::rewind(out);
  char buf[128] = {};
  std::fgets(buf, sizeof buf, out);
  EXPECT_STREQ(buf, "{'loss': 1}\n");
  std::fclose(out);
}

}  // namespace
}  // namespace trainer
