#include "trainer/integrations/log_history/log_history_file_callback.h"

#include <filesystem>
#include <set>

#include "trainer/core/atomic_file.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"
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

namespace {

class LogHistoryFileTracker : public Tracker {
 public:
  LogHistoryFileTracker(std::string directory, std::shared_ptr<BackgroundWriter> writer)
      : directory_(std::move(directory)), writer_(std::move(writer)) {}
  ~LogHistoryFileTracker() override { writer_->drain(); }  // jobs finish before files_ goes

  void start_run(const RunStart&) override {}

  // A resumed run keeps the lines it had; a new run starts the files afresh.
  void train_started() override { start(state().log_history); }

  void log_metrics(const Json&, int64_t) override {
    if (state().log_history.empty()) return;
    if (!files_) {  // used without train(): start from the history before this entry
      Json before = state().log_history;
      before.erase(before.size() - 1);
      start(before);
    }
    auto files = files_;
    Json entry = state().log_history.back();  // the entry as logged, with its step
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

  void finish(RunStatus) override { writer_->finish(); }

 private:
  // What the writer thread keeps between logs, so that a log costs an append, not a rewrite of the
  // whole history: the history so far (for the rare rewrite when a new column appears), the CSV's
  // columns, and the two files held open.
  struct Files {
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

  void start(const Json& history) {
    auto files = std::make_shared<Files>(directory_.empty() ? args().output_dir : directory_);
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

  std::string directory_;
  std::shared_ptr<BackgroundWriter> writer_;
  std::shared_ptr<Files> files_;  // used by writer_'s jobs only
};

TrackerTraits log_history_traits() {
  TrackerTraits t;
  t.callback_name = "LogHistoryFileCallback";
  t.values = ValueFilter::everything;  // the entry is written as it is in log_history
  return t;
}

}  // namespace

LogHistoryFileCallback::LogHistoryFileCallback(std::string directory)
    : LogHistoryFileCallback(std::move(directory), std::make_shared<BackgroundWriter>("log_history")) {}

LogHistoryFileCallback::LogHistoryFileCallback(std::string directory, std::shared_ptr<BackgroundWriter> writer)
    : TrackerCallback(
          log_history_traits(),
          [directory, writer](const Args&) { return std::make_unique<LogHistoryFileTracker>(directory, writer); }),
      writer_(std::move(writer)) {}

LogHistoryFileCallback::~LogHistoryFileCallback() = default;

}  // namespace trainer
