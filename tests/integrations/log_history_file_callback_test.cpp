#include "trainer/integrations/log_history/log_history_file_callback.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <set>

#include <fstream>
#include <sstream>

#include "test_support.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"
#include "trainer/integrations/registry.h"

namespace trainer {
namespace {

std::string read(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(LogHistoryFile, CsvHasAColumnPerKeyStepFirst) {
  Json h = Json::array();
  h.push_back(Json{{"loss", 0.5}, {"epoch", 0.25}, {"step", 1}});
  h.push_back(Json{{"eval_loss", 0.4}, {"note", "a,b"}, {"epoch", 0.5}, {"step", 2}});
  EXPECT_EQ(log_history_csv(h), "step,epoch,eval_loss,loss,note\n1,0.25,,0.5,\n2,0.5,0.4,,\"a,b\"\n");
}

TEST(LogHistoryFile, WritesJsonlAndCsvInTheBackground) {
  testing::TempDir dir;
  LogHistoryFileCallback cb;
  TrainingArguments args;
  args.output_dir = dir.path().string();
  TrainerState state;
  TrainerControl control;
  CallbackContext ctx;
  cb.on_train_begin(args, state, control, ctx);
  for (int step = 1; step <= 3; ++step) {
    state.log_history.push_back(Json{{"loss", 1.0 / step}, {"step", step}});
    cb.on_log(args, state, control, ctx);
  }
  cb.on_train_end(args, state, control, ctx);
  EXPECT_EQ(read(dir / "log_history.jsonl"),
            "{\"loss\": 1.0, \"step\": 1}\n{\"loss\": 0.5, \"step\": 2}\n"
            "{\"loss\": 0.3333333333333333, \"step\": 3}\n");
  EXPECT_EQ(read(dir / "log_history.csv"), "step,loss\n1,1.0\n2,0.5\n3,0.3333333333333333\n");
}

TEST(LogHistoryFile, AnUnwritableDirectoryIsReportedAndDoesNotThrow) {
  testing::TempDir dir;
  std::ofstream(dir / "blocked") << "a file where the directory should be";
  testing::CapturedLogs logs;
  LogHistoryFileCallback cb((dir / "blocked" / "logs").string());
  TrainingArguments args;
  TrainerState state;
  TrainerControl control;
  CallbackContext ctx;
  EXPECT_NO_THROW(cb.on_train_begin(args, state, control, ctx));
  state.log_history.push_back(Json{{"loss", 1.0}, {"step", 1}});
  EXPECT_NO_THROW(cb.on_log(args, state, control, ctx));
  cb.on_train_end(args, state, control, ctx);
  EXPECT_EQ(cb.writer().failures(), 2);
  EXPECT_TRUE(logs.contains("log_history: "));
}

TEST(LogHistoryFile, ALogWithANewColumnRewritesTheCsvOthersAppend) {
  testing::TempDir dir;
  LogHistoryFileCallback cb;
  TrainingArguments args;
  args.output_dir = dir.path().string();
  TrainerState state;
  TrainerControl control;
  CallbackContext ctx;
  state.log_history.push_back(Json{{"loss", 2.0}, {"step", 1}});  // a resumed run's history
  cb.on_train_begin(args, state, control, ctx);
  state.log_history.push_back(Json{{"loss", 1.0}, {"step", 2}});
  cb.on_log(args, state, control, ctx);
  state.log_history.push_back(Json{{"eval_loss", 0.5}, {"step", 2}});
  cb.on_log(args, state, control, ctx);
  state.log_history.push_back(Json{{"loss", 0.25}, {"step", 3}});
  cb.on_log(args, state, control, ctx);
  cb.on_train_end(args, state, control, ctx);
  EXPECT_EQ(read(dir / "log_history.csv"), "step,eval_loss,loss\n1,,2.0\n2,,1.0\n2,0.5,\n3,,0.25\n");
  EXPECT_EQ(read(dir / "log_history.csv"), log_history_csv(state.log_history));
  EXPECT_EQ(read(dir / "log_history.jsonl"),
            "{\"loss\": 2.0, \"step\": 1}\n{\"loss\": 1.0, \"step\": 2}\n"
            "{\"eval_loss\": 0.5, \"step\": 2}\n{\"loss\": 0.25, \"step\": 3}\n");
}

TEST(Integrations, ReportToSelectsByNameAndAllTakesEveryAvailableOne) {
  EXPECT_TRUE(integration_callbacks({"none"}).empty());
  const auto& all = registered_integrations();
  const auto joins_all = [](const Integration& i) {
    return (!i.available || i.available()) && (!i.in_all || i.in_all());
  };
  EXPECT_EQ(integration_callbacks({"all"}).size(),
            static_cast<size_t>(std::count_if(all.begin(), all.end(), joins_all)));
  // MLflow joins `all` only when a tracking URI says where its runs go.
  const char* uri = std::getenv("MLFLOW_TRACKING_URI");
  const std::string saved = uri ? uri : "";
  unsetenv("MLFLOW_TRACKING_URI");
  auto names_of_all = [] {
    std::set<std::string> names;
    for (const auto& cb : integration_callbacks({"all"})) names.insert(cb->name());
    return names;
  };
  EXPECT_EQ(names_of_all().count("MLflowCallback"), 0u);
  setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:1", 1);
  EXPECT_EQ(names_of_all().count("MLflowCallback"), 1u);
  if (uri)
    setenv("MLFLOW_TRACKING_URI", saved.c_str(), 1);
  else
    unsetenv("MLFLOW_TRACKING_URI");
  auto named = integration_callbacks({"log_history"});
  ASSERT_EQ(named.size(), 1u);
  EXPECT_EQ(named[0]->name(), "LogHistoryFileCallback");
  try {
    integration_callbacks({"log_histroy"});
    FAIL();
  } catch (const ArgumentError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'log_history'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace trainer
