#include "trainer/integrations/log_history_file_callback.h"

#include <filesystem>
#include <set>

#include "trainer/core/atomic_file.h"
#include "trainer/integrations/text_output.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

std::string csv_cell(const Json& v) {
  if (v.is_null()) return "";
  if (v.is_number_float()) return python_float_repr(v.get<double>());
  return csv_field(v.is_string() ? v.get<std::string>() : dump_json(v, {-1, true, false}));
}

}  // namespace

std::string log_history_csv(const Json& log_history) {
  std::set<std::string> keys;
  for (const auto& entry : log_history)
    for (auto it = entry.begin(); it != entry.end(); ++it) keys.insert(it.key());
  return log_history_csv(log_history, keys);
}

std::string log_history_csv(const Json& log_history, const std::set<std::string>& columns) {
  std::string out = "step";
  for (const auto& k : columns)
    if (k != "step") out += "," + csv_cell(Json(k));
  out += "\n";
  for (const auto& entry : log_history) {
    out += entry.contains("step") ? csv_cell(entry["step"]) : "";
    for (const auto& k : columns)
      if (k != "step") out += "," + (entry.contains(k) ? csv_cell(entry[k]) : std::string());
    out += "\n";
  }
  return out;
}

// What the writer thread keeps between logs, so that a log costs an append, not a rewrite of the
// whole history: the history so far (for the rare rewrite when a new column appears), the CSV's
// columns, and the two files held open.
struct LogHistoryFileCallback::Files {
  explicit Files(const fs::path& dir) : dir(dir), jsonl(dir / "log_history.jsonl"), csv(dir / "log_history.csv") {}
  fs::path dir;
  Json history = Json::array();
  std::set<std::string> keys;
  AppendedFile jsonl, csv;

  void rewrite_csv() {
    csv.close();
    write_file_atomic(csv.path(), log_history_csv(history), Durability::kReplaceOnly);
  }
};

LogHistoryFileCallback::LogHistoryFileCallback(std::string directory)
    : directory_(std::move(directory)), writer_(std::make_unique<BackgroundWriter>("log_history")) {}

LogHistoryFileCallback::~LogHistoryFileCallback() { writer_.reset(); }  // jobs finish before files_ goes

void LogHistoryFileCallback::on_train_begin(const Args& args, TrainerState& state, TrainerControl&, CallbackContext&) {
  if (state.is_world_process_zero) start(args, state.log_history);
}

void LogHistoryFileCallback::start(const Args& args, const Json& history) {
  // A resumed run keeps the lines it had; a new run starts the files afresh.
  auto files = std::make_shared<Files>(directory_.empty() ? args.output_dir : directory_);
  files->history = history;
  files_ = files;
  writer_->enqueue([files] {
    fs::create_directories(files->dir);
    std::string lines;
    for (const auto& e : files->history) {
      lines += dump_json(e, {-1, true, true}) + "\n";
      for (auto it = e.begin(); it != e.end(); ++it) files->keys.insert(it.key());
    }
    write_file_atomic(files->jsonl.path(), lines, Durability::kReplaceOnly);
    files->rewrite_csv();
  });
}

void LogHistoryFileCallback::on_log(const Args& args, TrainerState& state, TrainerControl&, CallbackContext&) {
  if (!state.is_world_process_zero || state.log_history.empty()) return;
  if (!files_) {  // used without train(): start from the history before this entry
    Json before = state.log_history;
    before.erase(before.size() - 1);
    start(args, before);
  }
  auto files = files_;
  Json entry = state.log_history.back();  // the entry as logged, with its step
  writer_->enqueue([files, entry = std::move(entry)] {
    files->history.push_back(entry);
    files->jsonl.append(dump_json(entry, {-1, true, true}) + "\n");
    bool new_column = false;
    for (auto it = entry.begin(); it != entry.end(); ++it) new_column |= files->keys.insert(it.key()).second;
    if (new_column) {
      files->rewrite_csv();  // the header changes: the one rewrite
    } else {
      const std::string csv = log_history_csv(Json::array({entry}), files->keys);
      files->csv.append(csv.substr(csv.find('\n') + 1));
    }
  });
}

void LogHistoryFileCallback::on_train_end(const Args&, TrainerState&, TrainerControl&, CallbackContext&) { writer_->finish(); }

}  // namespace trainer
