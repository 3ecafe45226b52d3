#include "trainer/callbacks/log_history_file_callback.h"

#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>

#include "trainer/core/atomic_file.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

std::string csv_cell(const Json& v) {
  if (v.is_null()) return "";
  if (v.is_number_float()) return python_float_repr(v.get<double>());
  std::string text = v.is_string() ? v.get<std::string>() : dump_json(v, {-1, true, false});
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

}  // namespace

std::string log_history_csv(const Json& log_history) {
  std::set<std::string> keys;
  for (const auto& entry : log_history)
    for (auto it = entry.begin(); it != entry.end(); ++it)
      if (it.key() != "step") keys.insert(it.key());
  std::string out = "step";
  for (const auto& k : keys) out += "," + csv_cell(Json(k));
  out += "\n";
  for (const auto& entry : log_history) {
    out += entry.contains("step") ? csv_cell(entry["step"]) : "";
    for (const auto& k : keys) out += "," + (entry.contains(k) ? csv_cell(entry[k]) : std::string());
    out += "\n";
  }
  return out;
}

LogHistoryFileCallback::LogHistoryFileCallback(std::string directory)
    : directory_(std::move(directory)), writer_(std::make_unique<BackgroundWriter>("log_history")) {}

void LogHistoryFileCallback::on_train_begin(const Args& args, TrainerState& state, TrainerControl&, CallbackContext&) {
  resolved_ = directory_.empty() ? args.output_dir : directory_;
  if (!state.is_world_process_zero) return;
  const fs::path jsonl = fs::path(resolved_) / "log_history.jsonl";
  // A resumed run keeps the lines it had; a new run starts the file afresh.
  const Json history = state.log_history;
  writer_->enqueue([jsonl, history] {
    fs::create_directories(jsonl.parent_path());
    std::string lines;
    for (const auto& e : history) lines += dump_json(e, {-1, true, true}) + "\n";
    write_file_atomic(jsonl, lines);
  });
}

void LogHistoryFileCallback::on_log(const Args& args, TrainerState& state, TrainerControl&, CallbackContext&) {
  if (!state.is_world_process_zero || state.log_history.empty()) return;
  if (resolved_.empty()) resolved_ = directory_.empty() ? args.output_dir : directory_;
  const fs::path dir = resolved_;
  const Json entry = state.log_history.back();  // the entry as logged, with its step
  const Json history = state.log_history;
  writer_->enqueue([dir, entry, history] {
    fs::create_directories(dir);
    std::ofstream out(dir / "log_history.jsonl", std::ios::app);
    out << dump_json(entry, {-1, true, true}) << "\n";
    out.flush();
    if (!out) throw std::runtime_error("cannot write " + (dir / "log_history.jsonl").string());
    write_file_atomic(dir / "log_history.csv", log_history_csv(history));
  });
}

void LogHistoryFileCallback::on_train_end(const Args&, TrainerState&, TrainerControl&, CallbackContext&) { writer_->drain(); }

}  // namespace trainer
