#include "integrations/wandb/wandb_offline_run.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <ctime>

#include "integrations/wandb/wandb_log_writer.h"
#include "trainer/core/atomic_file.h"
#include "trainer/core/file_snapshot.h"
#include "trainer/core/random_id.h"
#include "trainer/net/digest.h"
#include "wandb_record.pb.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

std::string value_json(const Json& v) { return dump_json(v, {-1, false, false}); }

std::string run_folder_name(const WandbRunInfo& info) {
  const std::time_t seconds = static_cast<std::time_t>(info.start_time_ms / 1000);
  std::tm local{};
  localtime_r(&seconds, &local);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%d_%H%M%S", &local);
  return std::string("offline-run-") + stamp + "-" + info.run_id;
}

void emit_yaml(YAML::Emitter& out, const Json& v) {
  if (v.is_object()) {
    out << YAML::BeginMap;
    for (auto it = v.begin(); it != v.end(); ++it) {
      out << YAML::Key << it.key() << YAML::Value;
      emit_yaml(out, it.value());
    }
    out << YAML::EndMap;
  } else if (v.is_array()) {
    out << YAML::BeginSeq;
    for (const auto& e : v) emit_yaml(out, e);
    out << YAML::EndSeq;
  } else if (v.is_null()) {
    out << YAML::Null;
  } else if (v.is_boolean()) {
    out << v.get<bool>();
  } else if (v.is_number_integer()) {
    out << v.get<int64_t>();
  } else if (v.is_number()) {
    const double d = v.get<double>();
    if (std::isnan(d)) {
      out << ".nan";
    } else if (std::isinf(d)) {
      out << (d > 0 ? ".inf" : "-.inf");
    } else {  // YAML 1.1 readers (PyYAML) take 5e-05 for a string: 5.0e-05
      std::string text = python_float_repr(d);
      if (const size_t e = text.find('e'); e != std::string::npos && text.find('.') == std::string::npos)
        text.insert(e, ".0");
      out << text;
    }
  } else {
    out << YAML::DoubleQuoted << v.get<std::string>();
  }
}

template <typename Item, typename Add>
void add_items(const Json& values, Add add) {
  for (auto it = values.begin(); it != values.end(); ++it) {
    Item* item = add();
    item->set_key(it.key());
    item->set_value_json(value_json(it.value()));
  }
}

}  // namespace

fs::path wandb_data_dir(const std::string& root) {
  const fs::path base = root.empty() ? fs::current_path() : fs::path(root);
  return fs::is_directory(base / ".wandb") ? base / ".wandb" : base / "wandb";
}

WandbOfflineRun::WandbOfflineRun(const fs::path& data_dir, WandbRunInfo info)
    : info_(std::move(info)), sequence_client_id_(random_id(128)) {
  dir_ = data_dir / run_folder_name(info_);
  for (int i = 2; fs::exists(dir_); ++i) dir_ = data_dir / (run_folder_name(info_) + "-" + std::to_string(i));
  fs::create_directories(dir_ / "files");
  std::error_code ec;  // latest-run points at the newest run, as the SDK's; a failure costs nothing
  fs::remove(data_dir / "latest-run", ec);
  fs::create_directory_symlink(dir_.filename(), data_dir / "latest-run", ec);
  log_ = std::make_unique<WandbLogWriter>(dir_ / ("run-" + info_.run_id + ".wandb"));

  wandb_internal::Record header;
  header.mutable_header()->mutable_version_info()->set_producer("trainer-cpp");
  header.mutable_header()->mutable_version_info()->set_min_consumer("0.40.0");
  log_->append(header.SerializeAsString());

  wandb_internal::Record record;
  record.set_num(++num_);
  wandb_internal::RunRecord* run = record.mutable_run();
  run->set_run_id(info_.run_id);
  run->set_entity(info_.entity);
  run->set_project(info_.project);
  run->set_display_name(info_.display_name);
  run->set_run_group(info_.group);
  run->set_job_type(info_.job_type);
  run->set_notes(info_.notes);
  run->set_host(info_.host);
  for (const auto& t : info_.tags) run->add_tags(t);
  run->mutable_start_time()->set_seconds(info_.start_time_ms / 1000);
  run->mutable_start_time()->set_nanos(static_cast<int32_t>(info_.start_time_ms % 1000) * 1000000);
  run->set_resumed(info_.resumed);
  run->set_starting_step(info_.starting_step);
  add_items<wandb_internal::ConfigItem>(info_.config, [&] { return run->mutable_config()->add_update(); });
  log_->append(record.SerializeAsString());

  // define_metric("train/global_step") and define_metric("*", step_metric="train/global_step", step_sync=True)
  for (int i = 0; i < 2; ++i) {
    wandb_internal::Record metric;
    metric.set_num(++num_);
    if (i == 0) {
      metric.mutable_metric()->set_name("train/global_step");
    } else {
      metric.mutable_metric()->set_glob_name("*");
      metric.mutable_metric()->set_step_metric("train/global_step");
      metric.mutable_metric()->mutable_options()->set_step_sync(true);
    }
    log_->append(metric.SerializeAsString());
  }
  write_run_files();
}

WandbOfflineRun::~WandbOfflineRun() = default;

const fs::path& WandbOfflineRun::log_path() const { return log_->path(); }

void WandbOfflineRun::write_run_files() {
  YAML::Emitter config;
  config << YAML::BeginMap;
  for (auto it = info_.config.begin(); it != info_.config.end(); ++it) {
    config << YAML::Key << it.key() << YAML::Value << YAML::BeginMap << YAML::Key << "value" << YAML::Value;
    emit_yaml(config, it.value());
    config << YAML::EndMap;
  }
  config << YAML::EndMap;
  write_file_atomic(dir_ / "files" / "config.yaml", std::string(config.c_str()) + "\n", Durability::kSynced);
  const Json metadata{{"host", info_.host},
                      {"program", "trainer"},
                      {"startedAt", info_.start_time_ms / 1000.0},
                      {"os", "Linux"},
                      {"runId", info_.run_id}};
  write_file_atomic(dir_ / "files" / "wandb-metadata.json", dump_json(metadata, {2, false, false}) + "\n",
                    Durability::kSynced);
  write_summary_file();

  wandb_internal::Record record;
  record.set_num(++num_);
  for (const char* name : {"config.yaml", "wandb-metadata.json", "wandb-summary.json"}) {
    wandb_internal::FilesItem* item = record.mutable_files()->add_files();
    item->set_path(name);
    item->set_policy(name == std::string("wandb-summary.json") ? wandb_internal::FilesItem::END
                                                               : wandb_internal::FilesItem::NOW);
    item->set_type(wandb_internal::FilesItem::WANDB);
  }
  log_->append(record.SerializeAsString());
}

void WandbOfflineRun::write_summary_file() {
  write_file_atomic(dir_ / "files" / "wandb-summary.json", dump_json(summary_, {-1, false, false}) + "\n",
                    Durability::kReplaceOnly);
}

void WandbOfflineRun::history(const Json& row) {
  wandb_internal::Record record;
  record.set_num(++num_);
  wandb_internal::HistoryRecord* history = record.mutable_history();
  add_items<wandb_internal::HistoryItem>(row, [&] { return history->add_item(); });
  history->mutable_step()->set_num(field_or<int64_t>(row, "_step", 0));
  log_->append(record.SerializeAsString());
}

void WandbOfflineRun::summary(const Json& changed) {
  if (changed.empty()) return;
  wandb_internal::Record record;
  record.set_num(++num_);
  add_items<wandb_internal::SummaryItem>(changed, [&] { return record.mutable_summary()->add_update(); });
  log_->append(record.SerializeAsString());
  for (auto it = changed.begin(); it != changed.end(); ++it) summary_[it.key()] = it.value();
}

WandbArtifact WandbOfflineRun::stage_artifact(WandbArtifact artifact, const std::string& folder) const {
  const fs::path root = dir_ / "artifacts" / folder;
  std::error_code ec;
  fs::remove_all(root, ec);
  for (auto& [source, name] : artifact.files) {
    snapshot_file(source, root / name);
    source = root / name;
  }
  return artifact;
}

void WandbOfflineRun::log_artifact(const WandbArtifact& artifact) {
  wandb_internal::Record record;
  record.set_num(++num_);
  wandb_internal::ArtifactRecord* a = record.mutable_artifact();
  a->set_run_id(info_.run_id);
  a->set_project(info_.project);
  a->set_entity(info_.entity);
  a->set_type(artifact.type);
  a->set_name(artifact.name);
  a->set_metadata(dump_json(artifact.metadata, {-1, false, false}));
  a->add_aliases("latest");
  for (const auto& alias : artifact.aliases) a->add_aliases(alias);
  a->set_finalize(true);
  a->set_client_id(random_id(128));
  a->set_sequence_client_id(sequence_client_id_);
  wandb_internal::ArtifactManifest* manifest = a->mutable_manifest();
  manifest->set_version(1);
  manifest->set_storage_policy("wandb-storage-policy-v1");
  wandb_internal::StoragePolicyConfigItem* layout = manifest->add_storage_policy_config();
  layout->set_key("storageLayout");
  layout->set_value_json("\"V2\"");
  auto files = artifact.files;
  std::sort(files.begin(), files.end(), [](const auto& x, const auto& y) { return x.second < y.second; });
  // The SDK's manifest digest: MD5 over a version line and "name:digest" lines in name order.
  std::string digest_input = "wandb-artifact-manifest-v1\n";
  for (const auto& [file, name] : files) {
    wandb_internal::ArtifactManifestEntry* entry = manifest->add_contents();
    entry->set_path(name);
    entry->set_digest(base64_encode(md5_of_file(file)));
    entry->set_size(static_cast<int64_t>(fs::file_size(file)));
    entry->set_local_path(fs::absolute(file).string());
    digest_input += name + ":" + entry->digest() + "\n";
  }
  a->set_digest(hex_encode(md5(digest_input)));
  log_->append(record.SerializeAsString());
}

void WandbOfflineRun::sync() {
  if (exited_) return;
  log_->sync();
  write_summary_file();
}

void WandbOfflineRun::exit(int exit_code, double runtime_seconds) {
  if (exited_) return;
  wandb_internal::Record record;
  record.set_num(++num_);
  record.mutable_exit()->set_exit_code(exit_code);
  record.mutable_exit()->set_runtime(static_cast<int32_t>(runtime_seconds));
  log_->append(record.SerializeAsString());
  wandb_internal::Record final_record;
  final_record.set_num(++num_);
  final_record.mutable_final();
  log_->append(final_record.SerializeAsString());
  wandb_internal::Record footer;
  footer.mutable_footer();
  log_->append(footer.SerializeAsString());
  log_->sync();
  log_->close();
  write_summary_file();
  exited_ = true;
}

}  // namespace trainer
