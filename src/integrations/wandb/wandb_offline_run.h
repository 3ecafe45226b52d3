#pragma once
// WandbOfflineRun: an offline W&B run as the SDK leaves it for `wandb sync`:
//   <data_dir>/offline-run-<YYYYMMDD_HHMMSS>-<run_id>/
//     run-<run_id>.wandb          header, Run, metric definitions, history and summary records, files,
//                                 Exit (written by exit()), Final, Footer; every record has its type
//     files/config.yaml           {key: {value: v}} for every config entry
//     files/wandb-summary.json    the summary (rewritten at every sync and at the exit)
//     files/wandb-metadata.json   host, program, start time (never the command line: it can hold secrets)
//     artifacts/<folder>/...      the files of each model artifact (hard links: checkpoints may be
//                                 rotated away before `wandb sync` uploads them)
//   <data_dir>/latest-run -> the run's folder
// Never holds the API key.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "trainer/core/json.h"

namespace trainer {

class WandbLogWriter;

// One artifact version as the SDK logs it: files under their names in the artifact.
struct WandbArtifact {
  std::string name;  // model-<run id or name>
  std::string type = "model";
  std::vector<std::string> aliases;  // "latest" is added
  Json metadata = Json::object();
  std::vector<std::pair<std::filesystem::path, std::string>> files;  // (file, name in the artifact)
};

struct WandbRunInfo {
  std::string run_id, entity, project, display_name, group, job_type, notes, host;
  std::vector<std::string> tags;
  Json config = Json::object();  // key -> value
  int64_t start_time_ms = 0;
  bool resumed = false;
  int64_t starting_step = 0;  // the first history _step of this process
};

// `<root>/wandb`, or `<root>/.wandb` when that exists (the SDK's choice); root "" is the working directory.
std::filesystem::path wandb_data_dir(const std::string& root);

class WandbOfflineRun {
 public:
  // Creates the run's folder, its files and the log's first records. Throws std::runtime_error naming the path.
  WandbOfflineRun(const std::filesystem::path& data_dir, WandbRunInfo info);
  ~WandbOfflineRun();

  void history(const Json& row);      // one row: the user's keys with _step, _runtime, _timestamp
  void summary(const Json& changed);  // the keys whose summary value changed
  // The artifact's files linked (or copied) under artifacts/<folder>/, which it then points at.
  // Cheap: call it while the files exist; log_artifact() may then run later, on another thread.
  WandbArtifact stage_artifact(WandbArtifact artifact, const std::string& folder) const;
  // An Artifact record: the manifest with each file's size and base64 MD5, and its digest.
  void log_artifact(const WandbArtifact& artifact);
  void sync();                                       // the log to disk, wandb-summary.json rewritten
  void exit(int exit_code, double runtime_seconds);  // Exit, Final and Footer records; the log closed
  const std::filesystem::path& dir() const { return dir_; }
  const std::filesystem::path& log_path() const;

 private:
  void write_run_files();
  void write_summary_file();

  WandbRunInfo info_;
  std::filesystem::path dir_;
  std::unique_ptr<WandbLogWriter> log_;
  Json summary_ = Json::object();
  std::string sequence_client_id_;  // one per artifact sequence (the run logs one: its model)
  int64_t num_ = 0;
  bool exited_ = false;
};

}  // namespace trainer
