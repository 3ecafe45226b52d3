#include "trainer/integrations/report/html_report.h"

#include "trainer/core/run_files.h"

#include <algorithm>
#include <map>
#include <stdexcept>

#include "trainer/core/atomic_file.h"
#include "trainer/core/local_time.h"
#include "trainer/integrations/report/svg_chart.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

const char* kStyle = R"css(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{background:#1d2330;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:20px;font-weight:600}
header .status{margin-top:4px;color:#c9d1e0}
main{padding:20px 28px;max-width:1240px}
section{margin-bottom:22px}
h2{font-size:16px;margin:0 0 10px}
.cards{display:flex;flex-wrap:wrap;gap:14px}
.card{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:12px 16px;min-width:260px}
.charts{display:flex;flex-wrap:wrap;gap:14px}
.chart{background:#fff;border:1px solid #dde1e8;border-radius:6px}
.chart .chart-title{font-weight:600;font-size:14px;fill:#1d2330}
.chart .grid line{stroke:#eceff3}
.chart .frame{fill:none;stroke:#b9c0cc}
.chart .tick,.chart .axis-label,.chart .legend{font-size:11px;fill:#5b6476}
.chart .empty{fill:#8a93a3}
table{border-collapse:collapse}
td,th{padding:3px 12px 3px 0;text-align:left;vertical-align:top}
th{color:#5b6476;font-weight:500}
td.num{font-variant-numeric:tabular-nums}
details{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:10px 16px}
summary{cursor:pointer;font-weight:600}
)css";

const char* kPalette[] = {"#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};

std::string cell_text(const Json& v) {
  if (v.is_number_float()) return format_number(v.get<double>());
  if (v.is_string()) return v.get<std::string>();
  return dump_json(v, {-1, false, false});
}

std::string table(const std::vector<std::pair<std::string, Json>>& rows) {
  std::string out = "<table>";
  for (const auto& [key, value] : rows)
    out += "<tr><th>" + escape_html(key) + "</th><td class=\"num\">" + escape_html(cell_text(value)) + "</td></tr>";
  return out + "</table>";
}

bool is_speed_key(const std::string& key) {
  for (const char* suffix : {"_runtime", "_samples_per_second", "_steps_per_second"})
    if (key.size() > std::char_traits<char>::length(suffix) &&
        key.compare(key.size() - std::char_traits<char>::length(suffix), std::string::npos, suffix) == 0)
      return true;
  return false;
}

double number_or_nan(const Json& v) {
  if (v.is_number()) return v.get<double>();
  return std::numeric_limits<double>::quiet_NaN();
}

}  // namespace

std::string render_report_html(const Json& state, const Json& args, bool running) {
  const Json history = state.value("log_history", Json::array());
  ChartSeries train_loss{"train loss", "#1f77b4", {}}, eval_loss{"eval loss", "#d62728", {}};
  ChartSeries lr{"learning rate", "#2ca02c", {}}, grad{"grad norm", "#9467bd", {}};
  std::map<std::string, ChartSeries> metrics;  // eval_<metric> -> series
  Json final_train = Json::object(), final_eval = Json::object();
  for (const auto& entry : history) {
    if (!entry.is_object() || !entry.contains("step")) continue;
    const double step = number_or_nan(entry["step"]);
    for (auto it = entry.begin(); it != entry.end(); ++it) {
      const std::string& key = it.key();
      const double y = number_or_nan(it.value());
      if (key == "loss")
        train_loss.points.emplace_back(step, y);
      else if (key == "eval_loss")
        eval_loss.points.emplace_back(step, y);
      else if (key == "learning_rate")
        lr.points.emplace_back(step, y);
      else if (key == "grad_norm")
        grad.points.emplace_back(step, y);
      else if (key.rfind("eval_", 0) == 0 && !is_speed_key(key) && it.value().is_number()) {
        auto& s = metrics[key];
        if (s.name.empty()) s = {key.substr(5), kPalette[(metrics.size() - 1) % 6], {}};
        s.points.emplace_back(step, y);
      }
    }
    if (entry.contains("train_runtime")) final_train = entry;
    if (entry.contains("eval_loss") || entry.contains("eval_runtime")) final_eval = entry;
  }

  // The run's title: --run_name, else the output directory (the original's run_name default).
  const Json run_name = args.is_object() ? args.value("run_name", Json()) : Json();
  const std::string output_dir = run_name.is_string() && !run_name.get<std::string>().empty()
                                     ? run_name.get<std::string>()
                                     : (args.is_object() ? args.value("output_dir", "") : "");
  const int64_t step = state.value("global_step", int64_t{0}), max_steps = state.value("max_steps", int64_t{0});
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  if (running) html += "<meta http-equiv=\"refresh\" content=\"30\">";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  html += "<meta name=\"generator\" content=\"trainer\">";
  html +=
      "<title>Training report" + (output_dir.empty() ? std::string() : " - " + escape_html(output_dir)) + "</title>";
  html += "<style>" + std::string(kStyle) + "</style></head><body>";
  html +=
      "<header><h1>Training report" + (output_dir.empty() ? std::string() : ": " + escape_html(output_dir)) + "</h1>";
  html += "<div class=\"status\" id=\"status\">";
  html += running ? "Training: step " + std::to_string(step) + " of " + std::to_string(max_steps) +
                        " (this page reloads every 30 s)"
                  : (step < max_steps ? "Stopped at step " : "Finished at step ") + std::to_string(step) + " of " +
                        std::to_string(max_steps);
  html += " &middot; epoch " + format_number(number_or_nan(state.value("epoch", Json(0.0)))) + " &middot; written " +
          local_time_now("%Y-%m-%d %H:%M:%S") + "</div></header><main>";

  // Final metrics and the best checkpoint.
  html += "<section><h2>Summary</h2><div class=\"cards\">";
  std::vector<std::pair<std::string, Json>> finals;
  for (const Json* entry : {&final_train, &final_eval})
    for (auto it = entry->begin(); it != entry->end(); ++it) {
      const bool seen =
          std::any_of(finals.begin(), finals.end(), [&](const auto& row) { return row.first == it.key(); });
      if (it.key() != "step" && !seen) finals.emplace_back(it.key(), it.value());
    }
  html += std::string("<div class=\"card\" id=\"final-metrics\"><h2>") +
          (running ? "Latest metrics" : "Final metrics") + "</h2>" +
          (finals.empty() ? std::string("<p>None logged yet.</p>") : table(finals)) + "</div>";
  std::vector<std::pair<std::string, Json>> best;
  if (!state.value("best_model_checkpoint", Json()).is_null())
    best.emplace_back("checkpoint", state["best_model_checkpoint"]);
  if (!state.value("best_metric", Json()).is_null()) {
    const std::string metric = args.is_object() && args.value("metric_for_best_model", Json()).is_string()
                                   ? args["metric_for_best_model"].get<std::string>()
                                   : std::string("metric");
    best.emplace_back(metric, state["best_metric"]);
  }
  if (!state.value("best_global_step", Json()).is_null()) best.emplace_back("step", state["best_global_step"]);
  html += "<div class=\"card\" id=\"best-checkpoint\"><h2>Best checkpoint</h2>" +
          (best.empty() ? std::string("<p>None tracked (set --metric_for_best_model or --load_best_model_at_end).</p>")
                        : table(best)) +
          "</div></div></section>";

  html += "<section><h2>Curves</h2><div class=\"charts\">";
  std::vector<ChartSeries> losses = {train_loss};
  if (!eval_loss.points.empty()) losses.push_back(eval_loss);
  html += svg_line_chart(losses, {"Loss"});
  for (const auto& [key, series] : metrics) html += svg_line_chart({series}, {"Evaluation " + series.name});
  html += svg_line_chart({lr}, {"Learning rate"});
  html += svg_line_chart({grad}, {"Gradient norm"});
  html += "</div></section>";

  std::vector<std::pair<std::string, Json>> arg_rows;
  if (args.is_object())
    for (auto it = args.begin(); it != args.end(); ++it) arg_rows.emplace_back(it.key(), it.value());
  html += "<section><details id=\"arguments\"><summary>Arguments (" + std::to_string(arg_rows.size()) + ")</summary>" +
          table(arg_rows) + "</details></section>";
  return html + "</main></body></html>\n";
}

fs::path write_report_from_run(const fs::path& output_dir) {
  const RunFiles run = read_run_files(output_dir);
  const fs::path report = output_dir / "report.html";
  write_file_atomic(report, render_report_html(run.state, run.args, false));
  return report;
}

}  // namespace trainer
