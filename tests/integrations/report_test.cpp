#include "trainer/integrations/report/report_callback.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "test_support.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"
#include "trainer/integrations/report/html_report.h"
#include "trainer/integrations/report/svg_chart.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

Json sample_state() {
  Json history = Json::array();
  for (int step = 10; step <= 100; step += 10) {
    history.push_back(Json{{"loss", 2.0 / step},
                           {"grad_norm", 1.0 + step / 100.0},
                           {"learning_rate", 1e-3 * (1 - step / 100.0)},
                           {"epoch", step / 50.0},
                           {"step", step}});
    if (step % 50 == 0)
      history.push_back(Json{{"eval_loss", 1.0 / step},
                             {"eval_accuracy", step / 120.0},
                             {"eval_runtime", 1.5},
                             {"epoch", step / 50.0},
                             {"step", step}});
  }
  history.push_back(Json{{"train_runtime", 12.5}, {"train_loss", 0.05}, {"epoch", 2.0}, {"step", 100}});
  return Json{{"global_step", 100},    {"max_steps", 100},        {"epoch", 2.0},
              {"best_metric", 0.83},   {"best_global_step", 100}, {"best_model_checkpoint", "out/checkpoint-100"},
              {"log_history", history}};
}

TEST(SvgChart, NiceTicksAndNumbers) {
  EXPECT_EQ(nice_ticks(0, 1, 5), (std::vector<double>{0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0}));
  EXPECT_EQ(nice_ticks(3, 97, 5).front(), 20);
  EXPECT_EQ(format_number(0.000125), "0.000125");
  EXPECT_EQ(format_number(2.5e-05), "2.5e-05");
  EXPECT_EQ(format_number(1234.5678), "1235");
  EXPECT_EQ(escape_html("<a href='x'>&</a>"), "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;");
}

TEST(SvgChart, OnePathPerSeriesWithAGapAtNaN) {
  ChartSeries s{"loss", "#1f77b4", {{1, 1.0}, {2, std::nan("")}, {3, 0.5}, {4, 0.25}}};
  const std::string svg = svg_line_chart({s}, {"Loss"});
  EXPECT_NE(svg.find("data-points=\"3\""), std::string::npos);
  // The pen lifts at the NaN: the path has two moves.
  const auto d = svg.substr(svg.find(" d=\""));
  EXPECT_EQ(count(d.substr(0, d.find("\"/>")), "M"), 2u);
  EXPECT_EQ(count(svg, "<circle"), 3u);
  EXPECT_NE(svg_line_chart({{"x", "#000", {}}}, {"Empty"}).find("no values logged yet"), std::string::npos);
}

TEST(HtmlReport, HasEveryPlotTheFinalMetricsTheBestCheckpointAndTheArguments) {
  Json args{{"output_dir", "out<run>"}, {"learning_rate", 0.001}, {"metric_for_best_model", "eval_accuracy"}};
  const std::string html = render_report_html(sample_state(), args, false);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  // Self-contained: no scripts, no external resources.
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  EXPECT_NE(html.find("data-series=\"train loss\" data-points=\"10\""), std::string::npos);
  EXPECT_NE(html.find("data-series=\"eval loss\" data-points=\"2\""), std::string::npos);
  EXPECT_NE(html.find("data-series=\"accuracy\" data-points=\"2\""), std::string::npos);
  EXPECT_NE(html.find("data-series=\"learning rate\" data-points=\"10\""), std::string::npos);
  EXPECT_NE(html.find("data-series=\"grad norm\" data-points=\"10\""), std::string::npos);
  EXPECT_EQ(html.find("data-series=\"runtime\""), std::string::npos);  // speeds are not curves
  EXPECT_NE(html.find("out/checkpoint-100"), std::string::npos);
  EXPECT_NE(html.find("<th>eval_accuracy</th><td class=\"num\">0.83</td>"), std::string::npos);
  EXPECT_NE(html.find("<th>train_loss</th>"), std::string::npos);
  EXPECT_NE(html.find("out&lt;run&gt;"), std::string::npos);  // escaped
  EXPECT_EQ(html.find("out<run>"), std::string::npos);
  EXPECT_NE(html.find("Finished at step 100 of 100"), std::string::npos);
  EXPECT_EQ(html.find("http-equiv=\"refresh\""), std::string::npos);
  EXPECT_NE(render_report_html(sample_state(), args, true).find("http-equiv=\"refresh\""), std::string::npos);
}

TEST(HtmlReport, AStoppedRunSaysStoppedARunningOneShowsLatestMetricsAndRunNameIsTheTitle) {
  Json state = sample_state();
  state["global_step"] = 40;
  state["max_steps"] = 2000;
  const Json args{{"output_dir", "out"}, {"run_name", "lr-sweep-3"}};
  const std::string stopped = render_report_html(state, args, false);
  EXPECT_NE(stopped.find("Stopped at step 40 of 2000"), std::string::npos);
  EXPECT_EQ(stopped.find("Finished at step"), std::string::npos);
  EXPECT_NE(stopped.find("<h1>Training report: lr-sweep-3</h1>"), std::string::npos);
  EXPECT_NE(stopped.find("<title>Training report - lr-sweep-3</title>"), std::string::npos);
  EXPECT_NE(stopped.find("Final metrics"), std::string::npos);
  const std::string running = render_report_html(state, args, true);
  EXPECT_NE(running.find("Latest metrics"), std::string::npos);
  EXPECT_EQ(running.find("Final metrics"), std::string::npos);
}

TEST(HtmlReport, RebuiltFromAFinishedRunOrItsNewestCheckpoint) {
  testing::TempDir dir;
  fs::create_directories(dir / "checkpoint-50");
  fs::create_directories(dir / "checkpoint-100");
  Json early = sample_state();
  early["global_step"] = 50;
  std::ofstream(dir / "checkpoint-50" / "trainer_state.json") << dump_json(early);
  std::ofstream(dir / "checkpoint-100" / "trainer_state.json") << dump_json(sample_state());
  std::ofstream(dir / "checkpoint-100" / "training_args.json") << dump_json(Json{{"output_dir", "from-checkpoint"}});
  EXPECT_EQ(write_report_from_run(dir.path()), dir / "report.html");
  const std::string html = testing::read_file(dir / "report.html");
  EXPECT_NE(html.find("Finished at step 100"), std::string::npos);
  EXPECT_NE(html.find("from-checkpoint"), std::string::npos);
  try {
    write_report_from_run(dir / "checkpoint-50" / "missing");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("is not a directory"), std::string::npos);
  }
  testing::TempDir empty;
  try {
    write_report_from_run(empty.path());
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("no trainer_state.json"), std::string::npos);
  }
}

TEST(ReportCallback, WritesAtStartEvaluationsAndEndAndKeepsToItsIntervalBetween) {
  testing::TempDir dir;
  TrainingArguments args;
  args.output_dir = dir.path().string();
  TrainerState state;
  TrainerControl control;
  CallbackContext ctx;
  ReportCallback cb(3600);
  cb.on_train_begin(args, state, control, ctx);
  for (int step = 1; step <= 20; ++step) {
    state.global_step = step;
    state.log_history.push_back(Json{{"loss", 1.0 / step}, {"step", step}});
    cb.on_log(args, state, control, ctx);
    cb.on_save(args, state, control, ctx);
  }
  EXPECT_EQ(cb.reports_queued(), 1);  // the interval holds logs and saves back
  cb.on_evaluate(args, state, control, ctx);
  EXPECT_EQ(cb.reports_queued(), 2);
  cb.writer().drain();
  EXPECT_NE(testing::read_file(dir / "report.html").find("Training: step 20"), std::string::npos);
  cb.on_train_end(args, state, control, ctx);
  EXPECT_EQ(cb.reports_queued(), 3);
  const std::string html = testing::read_file(dir / "report.html");
  EXPECT_NE(html.find("Finished at step 20"), std::string::npos);
  EXPECT_NE(html.find("data-series=\"train loss\" data-points=\"20\""), std::string::npos);
  for (const auto& e : fs::directory_iterator(dir.path()))  // no temporary files left behind
    EXPECT_EQ(e.path().filename(), "report.html");
}

}  // namespace
}  // namespace trainer
