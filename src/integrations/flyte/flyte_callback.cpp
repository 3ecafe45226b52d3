#include "trainer/integrations/flyte/flyte_callback.h"

#include <map>
#include <thread>

#include "integrations/flyte/blob_store.h"
#include "trainer/core/argument_spec.h"
#include "trainer/core/atomic_file.h"
#include "trainer/core/environment.h"
#include "trainer/core/file_snapshot.h"
#include "trainer/core/logging.h"
#include "trainer/core/text.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"
#include "trainer/integrations/text_output.h"
#include "trainer/net/s3_client.h"
#include "trainer/tracking/remote_tracker.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

constexpr const char* kLatest = "latest_checkpoint";

// Sends the records of a Flyte run: each names its location (root) and key.
//   put_file       {root, key, file (a staged copy, removed once sent), content_type}
//   put_text       {root, key, text}
//   delete_prefix  {root, prefix}
class FlyteEndpoint : public RemoteEndpoint {
 public:
  Delivery send(const std::vector<TrackingRecord>& pending) override {
    const TrackingRecord& r = pending.front();
    const std::string root = r.body.value("root", "");
    BlobStore* store = nullptr;
    try {
      store = store_for(root);
    } catch (const std::exception& e) {  // bad S3 variables: nothing can go until they are fixed
      return {Delivery::Kind::blocked, 1, std::string("Flyte: ") + e.what(), std::nullopt};
    }
    if (r.type == "put_file") {
      const fs::path file = r.body.value("file", "");
      const Delivery d =
          store->put_file(file, r.body.value("key", ""), r.body.value("content_type", "application/octet-stream"));
      std::error_code ignored;
      if (d.kind == Delivery::Kind::delivered) fs::remove(file, ignored);
      return d;
    }
    if (r.type == "put_text") return store->put_text(r.body.value("key", ""), r.body.value("text", ""));
    if (r.type == "delete_prefix") return store->delete_prefix(r.body.value("prefix", ""));
    return {Delivery::Kind::rejected, 1, "Flyte: unknown record type " + r.type, std::nullopt};
  }
  Json run() const override { return Json::object(); }  // no remote run: the records say where they go
  void restore_run(const Json&) override {}
  void set_aborted(bool aborted) override {
    aborted_ = aborted;
    for (auto& [root, store] : stores_) store->set_aborted(aborted);
  }

 private:
  BlobStore* store_for(const std::string& root) {
    auto& store = stores_[root];
    if (!store) {
      store = BlobStore::open(root);
      store->set_aborted(aborted_);
    }
    return store.get();
  }
  std::map<std::string, std::unique_ptr<BlobStore>> stores_;
  bool aborted_ = false;
};

class FlyteTracker : public RemoteTracker {
 public:
  FlyteTracker(bool save_log_history, bool sync_checkpoints, const TrainingArguments& args)
      : RemoteTracker("flyte", "Flyte", args),
        save_log_history_(save_log_history),
        destination_(sync_checkpoints ? flyte_location(args.flyte_checkpoint_path) : std::nullopt),
        deck_prefix_(save_log_history ? flyte_location(args.flyte_output_prefix) : std::nullopt) {}

  void start_run(const RunStart& run) override {
    open_journal(run,
                 Json{{"checkpoint_path", destination_.value_or("")}, {"output_prefix", deck_prefix_.value_or("")}},
                 [] { return std::make_unique<FlyteEndpoint>(); });
    previous_ = restored_previous_;
    if (destination_) log_info("Flyte: checkpoints are synced to " + *destination_);
  }
  void log_metrics(const Json&, int64_t) override {}

  // A complete checkpoint: its files, then the pointer to it, then the previous one's removal.
  void log_artifact(const fs::path& dir, const std::string& name) override {
    if (!destination_) return;
    for (const auto& [file, relative] : files_under(dir)) {
      const std::string key = name + "/" + relative;
      submit("put_file", Json{{"root", *destination_},
                              {"key", key},
                              {"file", stage(file, key).string()},
                              {"content_type", "application/octet-stream"}});
    }
    submit("put_text", Json{{"root", *destination_}, {"key", kLatest}, {"text", name}});
    if (!previous_.empty() && previous_ != name)
      submit("delete_prefix", Json{{"root", *destination_}, {"prefix", previous_ + "/"}});
    previous_ = name;
  }

  void finish(RunStatus status) override {
    if (save_log_history_) {
      const fs::path deck = fs::path(output_dir_) / "deck.html";
      write_file_atomic(deck, flyte_log_history_deck(state().log_history), Durability::kSynced);
      if (deck_prefix_)
        submit("put_file", Json{{"root", *deck_prefix_},
                                {"key", "deck.html"},
                                {"file", stage(deck, "deck.html").string()},
                                {"content_type", "text/html"}});
    }
    finish_sending(std::string("run ") + to_string(status));
  }

  Json saved_state() const override {
    Json state = RemoteTracker::saved_state();
    if (!previous_.empty()) state["synced_checkpoint"] = previous_;
    return state;
  }
  void restore_state(const Json& state) override {
    RemoteTracker::restore_state(state);
    restored_previous_ = state.value("synced_checkpoint", "");
  }

 private:
  bool save_log_history_;
  std::optional<std::string> destination_, deck_prefix_;
  std::string previous_, restored_previous_;  // the checkpoint the destination holds
};

TrackerTraits flyte_traits() {
  TrackerTraits traits;
  traits.callback_name = "FlyteCallback";
  traits.artifacts = true;                  // each complete checkpoint
  traits.values = ValueFilter::everything;  // it logs no values: nothing to warn about
  return traits;
}

std::string deck_cell(const Json& value) {
  if (value.is_number_float()) return python_float_repr(value.get<double>());
  return python_str(value);
}

// Downloads every key under `prefix` into `into`, the prefix taken off. Throws with the store's answer.
void download(BlobStore& store, const std::string& prefix, const fs::path& into) {
  Delivery failed;
  const auto keys = store.list(prefix, &failed);
  if (failed.kind != Delivery::Kind::delivered) throw std::runtime_error(failed.message);
  if (keys.empty()) throw std::runtime_error(store.describe() + "/" + prefix + " holds no files");
  for (const auto& key : keys) {
    const Delivery d = store.get_file(key, into / key.substr(prefix.size()));
    if (d.kind != Delivery::Kind::delivered) throw std::runtime_error(d.message);
  }
}

std::optional<fs::path> restore_from(BlobStore& store, const fs::path& output_dir) {
  const std::optional<std::string> latest = store.get_text(kLatest);
  std::string prefix;
  if (latest) {
    prefix = trim_space(*latest) + "/";
  } else {  // nothing, or the original's layout: one checkpoint's files at the prefix itself
    Delivery failed;
    const auto keys = store.list("", &failed);
    if (failed.kind != Delivery::Kind::delivered) throw std::runtime_error(failed.message);
    if (keys.empty()) return std::nullopt;
    if (std::find(keys.begin(), keys.end(), "trainer_state.json") == keys.end())
      throw ArgumentError("--flyte_prev_checkpoint: " + store.describe() +
                          " holds no checkpoint (no latest_checkpoint, no trainer_state.json); pass the task's "
                          "{{.prevCheckpointPrefix}}");
  }
  const fs::path staging = output_dir / ".flyte-restore";
  fs::remove_all(staging);
  download(store, prefix, staging);
  const std::string name =
      latest ? trim_space(*latest)
             : "checkpoint-" +
                   std::to_string(field_or<int64_t>(read_json_file(staging / "trainer_state.json"), "global_step", 0));
  const fs::path target = output_dir / name;
  if (fs::exists(target)) {
    fs::remove_all(staging);
    return target;
  }
  fs::rename(staging, target);
  return target;
}

}  // namespace

FlyteCallback::FlyteCallback(bool save_log_history, bool sync_checkpoints)
    : StatefulTrackerCallback(flyte_traits(), [save_log_history, sync_checkpoints](const TrainingArguments& args) {
        return std::make_unique<FlyteTracker>(save_log_history, sync_checkpoints, args);
      }) {}

void FlyteCallback::on_init_end(const Args& args, TrainerState& state, TrainerControl& control, CallbackContext& ctx) {
  for (const std::string* value :
       {&args.flyte_checkpoint_path, &args.flyte_output_prefix, &args.flyte_prev_checkpoint}) {
    const std::optional<std::string> location = flyte_location(*value);
    if (location && location->rfind("s3://", 0) == 0) {
      S3Location::parse(*location);
      S3Settings::from_environment();
    }
  }
  StatefulTrackerCallback::on_init_end(args, state, control, ctx);
}

std::shared_ptr<TrainerCallback> make_flyte_callback() { return std::make_shared<FlyteCallback>(); }

bool flyte_in_all() { return !env_string("FLYTE_INTERNAL_EXECUTION_ID").empty(); }

std::unique_ptr<RecordSender> flyte_sender_for_journal(const fs::path& dir, const std::string& output_dir) {
  return sender_for_journal_folder(dir, output_dir, [](const Json&) { return std::make_unique<FlyteEndpoint>(); });
}

std::optional<fs::path> flyte_restore_checkpoint(const TrainingArguments& args) {
  const std::optional<std::string> location = flyte_location(args.flyte_prev_checkpoint);
  if (!location) return std::nullopt;
  std::unique_ptr<BlobStore> store = BlobStore::open(*location);
  for (int attempt = 1;; ++attempt) {
    try {
      std::optional<fs::path> restored = restore_from(*store, args.output_dir);
      if (restored)
        log_info("Flyte: resuming from " + restored->string() + ", restored from " + store->describe());
      else
        log_info("Flyte: " + store->describe() + " is empty (a first attempt): training starts afresh");
      return restored;
    } catch (const ArgumentError&) {
      throw;  // what is there is not a checkpoint: trying again changes nothing
    } catch (const std::exception& e) {
      if (attempt == 4)
        throw std::runtime_error(std::string("--flyte_prev_checkpoint: cannot restore the previous checkpoint: ") +
                                 e.what() +
                                 "; let Flyte retry the task, or pass --flyte_prev_checkpoint '' to start afresh");
      log_warning(std::string("Flyte: restoring the previous checkpoint failed (") + e.what() + "); trying again");
      std::this_thread::sleep_for(std::chrono::seconds(1 << (attempt - 1)));
    }
  }
}

std::string flyte_log_history_deck(const Json& log_history) {
  std::vector<std::string> columns;
  for (const auto& row : log_history)
    for (auto it = row.begin(); it != row.end(); ++it)
      if (std::find(columns.begin(), columns.end(), it.key()) == columns.end()) columns.push_back(it.key());
  std::string html =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Log History</title>\n"
      "<style>body{font-family:sans-serif}table.dataframe{border-collapse:collapse}"
      "table.dataframe td,table.dataframe th{padding:2px 6px;text-align:right}</style></head>\n"
      "<body><h2>Log History</h2>\n<table border=\"1\" class=\"dataframe\">\n<thead><tr style=\"text-align: "
      "right;\"><th></th>";
  for (const auto& c : columns) html += "<th>" + escape_html(c) + "</th>";
  html += "</tr></thead>\n<tbody>\n";
  for (size_t i = 0; i < log_history.size(); ++i) {
    html += "<tr><th>" + std::to_string(i) + "</th>";
    for (const auto& c : columns)
      html += "<td>" + (log_history[i].contains(c) ? escape_html(deck_cell(log_history[i][c])) : "NaN") + "</td>";
    html += "</tr>\n";
  }
  return html + "</tbody>\n</table>\n</body></html>\n";
}

}  // namespace trainer
