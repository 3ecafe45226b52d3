// The mlruns/ file store of MLflow's FileStore.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <map>

#include "integrations/mlflow/mlflow_file_endpoint.h"
#include "trainer/core/atomic_file.h"
#include "trainer/core/local_time.h"
#include "trainer/core/random_id.h"
#include "trainer/integrations/mlflow/mlflow_params.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

bool looks_like_other_yaml_type(const std::string& s) {
  static const char* words[] = {"null", "Null", "NULL", "~",  "true", "True", "TRUE", "false", "False", "FALSE", "yes",
                                "Yes",  "YES",  "no",   "No", "NO",   "on",   "On",   "ON",    "off",   "Off",   "OFF"};
  for (const char* w : words)
    if (s == w) return true;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end && *end == '\0';
}

// A string as PyYAML's safe_dump writes it, closely enough that yaml.safe_load reads it back the same.
std::string yaml_string(const std::string& s) {
  bool quote = s.empty() || looks_like_other_yaml_type(s) || s.front() == ' ' || s.back() == ' ' ||
               std::string("-?:,[]{}#&*!|>'\"%@`").find(s.front()) != std::string::npos ||
               s.find(": ") != std::string::npos || s.find(" #") != std::string::npos || s.back() == ':';
  for (char c : s) quote = quote || static_cast<unsigned char>(c) < 0x20;
  if (!quote) return s;
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string yaml_value(const Json& v) {
  if (v.is_null()) return "null";
  if (v.is_string()) return yaml_string(v.get<std::string>());
  if (v.is_array() && v.empty()) return "[]";
  return v.dump();
}

// PyYAML's safe_dump of a flat dict: block style, keys sorted.
std::string yaml_document(const Json& object) {
  std::map<std::string, Json> sorted;
  for (auto it = object.begin(); it != object.end(); ++it) sorted[it.key()] = it.value();
  std::string out;
  for (const auto& [key, value] : sorted) out += key + ": " + yaml_value(value) + "\n";
  return out;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_text(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  write_file_atomic(path, text, Durability::kReplaceOnly);
}

void append_line(const fs::path& path, const std::string& line) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << line;
  out.flush();
  if (!out) throw std::runtime_error(path.string() + ": cannot append");
}

// An 18-digit id, as MLflow's FileStore makes for new experiments.
std::string new_experiment_id() { return random_id(1, "123456789") + random_id(17, "0123456789"); }

Json experiment_meta(const fs::path& root, const std::string& id, const std::string& name) {
  const int64_t now = unix_time_ms();
  return Json{{"artifact_location", "file://" + (root / id).string()},
              {"creation_time", now},
              {"experiment_id", id},
              {"last_update_time", now},
              {"lifecycle_stage", "active"},
              {"name", name}};
}

// MLflow's own rule for names that become paths: relative, normalised, no "..".
bool safe_key(const std::string& key) {
  if (key.empty() || key.front() == '/' || key.rfind("./", 0) == 0 || key.size() > 250) return false;
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string::npos) end = key.size();
    const std::string part = key.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

Delivery unsafe_key(const std::string& what, const std::string& key) {
  return {
      Delivery::Kind::rejected, 1,
      "MLflow file store: " + what + " name '" + key + "' is not a relative path without '..' (MLflow refuses it too)",
      std::nullopt};
}

}  // namespace

MlflowFileEndpoint::MlflowFileEndpoint(fs::path root) : root_(std::move(root)) {}

fs::path MlflowFileEndpoint::run_dir() const { return root_ / experiment_id_ / run_id_; }

Json MlflowFileEndpoint::run() const {
  if (run_id_.empty()) return nullptr;
  return Json{{"run_id", run_id_},         {"experiment_id", experiment_id_},
              {"run_name", run_name_},     {"user_id", user_id_},
              {"start_time", start_time_}, {"artifact_uri", "file://" + (run_dir() / "artifacts").string()}};
}

void MlflowFileEndpoint::restore_run(const Json& run) {
  if (!run.is_object()) return;
  run_id_ = field_or<std::string>(run, "run_id", "");
  experiment_id_ = field_or<std::string>(run, "experiment_id", "");
  run_name_ = field_or<std::string>(run, "run_name", "");
  user_id_ = field_or<std::string>(run, "user_id", "");
  start_time_ = field_or<int64_t>(run, "start_time", 0);
}

std::string MlflowFileEndpoint::experiment_for(const std::string& name, const std::string& id) {
  if (!fs::exists(root_)) {  // MLflow creates the Default experiment with a new store
    fs::create_directories(root_ / ".trash");
    write_text(root_ / "0" / "meta.yaml", yaml_document(experiment_meta(root_, "0", "Default")));
  }
  if (!id.empty()) return fs::exists(root_ / id / "meta.yaml") ? id : "";
  if (name.empty()) return "0";
  for (const auto& entry : fs::directory_iterator(root_)) {
    const fs::path meta = entry.path() / "meta.yaml";
    if (!entry.is_directory() || !fs::exists(meta)) continue;
    const std::string text = read_text(meta);
    if (text.find("\nname: " + yaml_string(name) + "\n") != std::string::npos) return entry.path().filename().string();
  }
  const std::string created = new_experiment_id();
  write_text(root_ / created / "meta.yaml", yaml_document(experiment_meta(root_, created, name)));
  return created;
}

void MlflowFileEndpoint::write_run_meta(int status, const Json& end_time) {
  Json meta{{"artifact_uri", "file://" + (run_dir() / "artifacts").string()},
            {"end_time", end_time},
            {"entry_point_name", ""},
            {"experiment_id", experiment_id_},
            {"lifecycle_stage", "active"},
            {"run_id", run_id_},
            {"run_name", run_name_},
            {"run_uuid", run_id_},
            {"source_name", ""},
            {"source_type", 4},
            {"source_version", ""},
            {"start_time", start_time_},
            {"status", status},
            {"tags", Json::array()},
            {"user_id", user_id_}};
  if (status == 1 && end_time.is_null()) meta["deleted_time"] = nullptr;
  write_text(run_dir() / "meta.yaml", yaml_document(meta));
}

Delivery MlflowFileEndpoint::start_run(const TrackingRecord& record) {
  const Json& b = record.body;
  const std::string forced = field_or<std::string>(b, "run_id", "");
  if (run_id_.empty() && !forced.empty()) {
    if (fs::exists(root_))
      for (const auto& entry : fs::directory_iterator(root_))
        if (fs::exists(entry.path() / forced / "meta.yaml")) {
          experiment_id_ = entry.path().filename().string();
          run_id_ = forced;
          const std::string meta = read_text(run_dir() / "meta.yaml");
          auto field = [&](const std::string& key) {
            const size_t at = meta.find("\n" + key + ": ");
            if (at == std::string::npos) return std::string();
            const size_t from = at + key.size() + 3;
            return meta.substr(from, meta.find('\n', from) - from);
          };
          run_name_ = field("run_name");
          user_id_ = field("user_id");
          start_time_ = std::atoll(field("start_time").c_str());
        }
    if (run_id_.empty())
      return {Delivery::Kind::rejected, 1, "MLflow: MLFLOW_RUN_ID=" + forced + " is not a run in " + root_.string(),
              std::nullopt};
  }
  if (!run_id_.empty()) {
    write_run_meta(1, nullptr);
    return Delivery::delivered(1);
  }
  experiment_id_ =
      experiment_for(field_or<std::string>(b, "experiment_name", ""), field_or<std::string>(b, "experiment_id", ""));
  if (experiment_id_.empty())
    return {Delivery::Kind::rejected, 1,
            "MLflow: MLFLOW_EXPERIMENT_ID=" + field_or<std::string>(b, "experiment_id", "") +
                " is not an experiment in " + root_.string(),
            std::nullopt};
  run_id_ = random_hex(32);
  run_name_ = field_or<std::string>(b, "run_name", "");
  if (run_name_.empty()) run_name_ = run_id_.substr(0, 8);
  user_id_ = field_or<std::string>(b, "user_id", "");
  start_time_ = field_or<int64_t>(b, "start_time", unix_time_ms());
  fs::create_directories(run_dir() / "artifacts");
  fs::create_directories(run_dir() / "metrics");
  fs::create_directories(run_dir() / "params");
  write_run_meta(1, nullptr);
  Json tags = b.value("tags", Json::object());
  tags["mlflow.runName"] = run_name_;
  if (const std::string parent = field_or<std::string>(b, "parent_run_id", ""); !parent.empty())
    tags["mlflow.parentRunId"] = parent;
  for (auto it = tags.begin(); it != tags.end(); ++it)
    write_text(run_dir() / "tags" / it.key(),
               it.value().is_string() ? it.value().get<std::string>() : python_str(it.value()));
  return Delivery::delivered(1);
}

Delivery MlflowFileEndpoint::send(const std::vector<TrackingRecord>& pending) {
  const TrackingRecord& r = pending.front();
  if (r.type == "start_run") return start_run(r);
  if (run_id_.empty()) return {Delivery::Kind::blocked, 1, "MLflow: there is no run to log to", std::nullopt};
  if (r.type == "metrics") {
    const std::string tail = " " + std::to_string(field_or<int64_t>(r.body, "step", 0)) + "\n";
    const std::string ts = std::to_string(field_or<int64_t>(r.body, "timestamp", 0));
    for (auto it = r.body["metrics"].begin(); it != r.body["metrics"].end(); ++it)
      if (!safe_key(it.key())) return unsafe_key("metric", it.key());
    for (auto it = r.body["metrics"].begin(); it != r.body["metrics"].end(); ++it)
      append_line(run_dir() / "metrics" / it.key(), ts + " " + python_str(it.value()) + tail);
  } else if (r.type == "params") {
    for (const Json& kv : r.body["params"])
      if (!safe_key(kv[0].get<std::string>())) return unsafe_key("parameter", kv[0].get<std::string>());
    for (const Json& kv : r.body["params"]) {
      const fs::path file = run_dir() / "params" / kv[0].get<std::string>();
      const std::string value = kv[1].get<std::string>();
      if (fs::exists(file) && read_text(file) != value)
        return {Delivery::Kind::rejected, 1,
                "MLflow: parameter '" + kv[0].get<std::string>() +
                    "' was logged before with another value (MLflow parameters cannot change)",
                std::nullopt};
      write_text(file, value);
    }
  } else if (r.type == "tags") {
    for (auto it = r.body["tags"].begin(); it != r.body["tags"].end(); ++it)
      if (!safe_key(it.key())) return unsafe_key("tag", it.key());
    for (auto it = r.body["tags"].begin(); it != r.body["tags"].end(); ++it) {
      const std::string value = it.value().is_string() ? it.value().get<std::string>() : python_str(it.value());
      write_text(run_dir() / "tags" / it.key(), value);
      if (it.key() == "mlflow.runName") {
        run_name_ = value;
        write_run_meta(1, nullptr);
      }
    }
  } else if (r.type == "artifact") {
    const fs::path from = field_or<std::string>(r.body, "file", "");
    const std::string artifact_path = field_or<std::string>(r.body, "artifact_path", "");
    if (!safe_key(artifact_path)) return unsafe_key("artifact", artifact_path);
    const fs::path to = run_dir() / "artifacts" / artifact_path;
    std::error_code ec;
    if (!fs::exists(from, ec))
      return {Delivery::Kind::rejected, 1, "MLflow artifact: the staged file " + from.string() + " is gone",
              std::nullopt};
    fs::create_directories(to.parent_path());
    fs::copy_file(from, to, fs::copy_options::overwrite_existing);
    fs::remove(from, ec);
  } else if (r.type == "end_run") {
    const std::string status = field_or<std::string>(r.body, "status", "FINISHED");
    write_run_meta(status == "FAILED"   ? 4
                   : status == "KILLED" ? 5
                                        : 3,
                   field_or<int64_t>(r.body, "end_time", unix_time_ms()));
  } else {
    return {Delivery::Kind::rejected, 1, "MLflow: unknown record type '" + r.type + "'", std::nullopt};
  }
  return Delivery::delivered(1);
}

}  // namespace trainer
