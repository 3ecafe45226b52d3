#include <cmath>

#include "integrations/mlflow/mlflow_file_endpoint.h"
#include "integrations/mlflow/mlflow_rest_endpoint.h"
#include "trainer/core/logging.h"
#include "trainer/integrations/mlflow/mlflow_params.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

const JsonFormat kCompact{-1, false, false};

// MLflow wants non-finite values as the strings of protobuf's JSON mapping: a bare NaN
// token is answered 200 and stored as 0.
Json metric_value(const Json& v) {
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isnan(d)) return "NaN";
    if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  }
  return v;
}

Json key_values(const Json& object) {
  Json out = Json::array();
  for (auto it = object.begin(); it != object.end(); ++it)
    out.push_back({{"key", it.key()},
                   {"value", it.value().is_string() ? it.value().get<std::string>() : python_str(it.value())}});
  return out;
}

Json parse_or_null(const std::string& text) {
  try {
    return Json::parse(text);
  } catch (const std::exception&) {
    return nullptr;
  }
}

struct BatchParts {
  Json metrics = Json::array(), params = Json::array(), tags = Json::array();
  size_t bytes = 64;
  size_t entities() const { return metrics.size() + params.size() + tags.size(); }
};

// Adds one record's entries to the batch if the batch stays within MLflow's limits.
bool add_to_batch(const TrackingRecord& r, BatchParts& batch) {
  BatchParts next = batch;
  if (r.type == "metrics") {
    const int64_t step = field_or<int64_t>(r.body, "step", 0), ts = field_or<int64_t>(r.body, "timestamp", 0);
    for (auto it = r.body["metrics"].begin(); it != r.body["metrics"].end(); ++it) {
      next.metrics.push_back(
          {{"key", it.key()}, {"value", metric_value(it.value())}, {"timestamp", ts}, {"step", step}});
      next.bytes += it.key().size() + 64;
    }
  } else if (r.type == "params") {
    for (const Json& kv : r.body["params"]) {
      next.params.push_back({{"key", kv[0]}, {"value", kv[1]}});
      next.bytes += kv[0].get<std::string>().size() + kv[1].get<std::string>().size() + 32;
    }
  } else {
    for (const Json& kv : key_values(r.body["tags"])) {
      next.bytes += kv["key"].get<std::string>().size() + kv["value"].get<std::string>().size() + 32;
      next.tags.push_back(kv);
    }
  }
  if (next.metrics.size() > kMlflowMaxMetricsPerBatch || next.params.size() > kMlflowMaxParamsPerBatch ||
      next.tags.size() > kMlflowMaxTagsPerBatch || next.entities() > kMlflowMaxEntitiesPerBatch ||
      next.bytes > kMlflowMaxBatchBytes)
    return false;
  batch = std::move(next);
  return true;
}

bool batchable(const TrackingRecord& r) { return r.type == "metrics" || r.type == "params" || r.type == "tags"; }

}  // namespace

MlflowRestEndpoint::MlflowRestEndpoint(const MlflowSettings& settings)
    : HttpEndpoint(settings.http_options()), settings_(settings) {}

HttpResponse MlflowRestEndpoint::call(const std::string& method, const std::string& path, const Json& body,
                                      Repeat repeat) {
  HttpRequest request;
  request.method = method;
  request.repeat = repeat;
  request.url = settings_.tracking_uri + "/api/2.0/mlflow/" + path;
  if (!body.is_null()) {
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = dump_json(body, kCompact);
  }
  return http_.send(request);
}

Json MlflowRestEndpoint::run() const {
  if (run_id_.empty()) return nullptr;
  return Json{{"run_id", run_id_}, {"experiment_id", experiment_id_}, {"artifact_uri", artifact_uri_}};
}

void MlflowRestEndpoint::restore_run(const Json& run) {
  if (!run.is_object()) return;
  run_id_ = field_or<std::string>(run, "run_id", "");
  experiment_id_ = field_or<std::string>(run, "experiment_id", "");
  artifact_uri_ = field_or<std::string>(run, "artifact_uri", "");
}

Delivery MlflowRestEndpoint::send(const std::vector<TrackingRecord>& pending) {
  const TrackingRecord& first = pending.front();
  if (first.type == "start_run") return start_run(first);
  if (run_id_.empty())
    return {Delivery::Kind::blocked, 1, "MLflow: there is no run to log to (the run could not be created)",
            std::nullopt};
  if (first.type == "end_run") return end_run(first);
  if (first.type == "artifact") return upload_artifact(first);
  if (batchable(first)) return log_batch(pending);
  return {Delivery::Kind::rejected, 1, "MLflow: unknown record type '" + first.type + "'", std::nullopt};
}

Delivery MlflowRestEndpoint::resolve_experiment(const TrackingRecord& record, std::string& experiment_id) {
  experiment_id = field_or<std::string>(record.body, "experiment_id", "");
  const std::string name = field_or<std::string>(record.body, "experiment_name", "");
  if (!experiment_id.empty() || name.empty()) {
    if (experiment_id.empty()) experiment_id = "0";
    return Delivery::delivered(1);
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    HttpResponse got = call("GET", "experiments/get-by-name?experiment_name=" + url_encode(name));
    if (got.ok()) {
      experiment_id = parse_or_null(got.body)["experiment"].value("experiment_id", std::string());
      if (experiment_id.empty())
        return {Delivery::Kind::rejected, 1, "MLflow experiments/get-by-name: no experiment_id in the answer",
                std::nullopt};
      return Delivery::delivered(1);
    }
    if (got.status != 404) return classify_response(got, 1, "MLflow experiments/get-by-name");
    HttpResponse created = call("POST", "experiments/create", Json{{"name", name}});
    if (created.ok()) {
      experiment_id = parse_or_null(created.body).value("experiment_id", std::string());
      return Delivery::delivered(1);
    }
    // Created by someone else meanwhile: look it up again.
    if (created.status != 400 || created.body.find("RESOURCE_ALREADY_EXISTS") == std::string::npos)
      return classify_response(created, 1, "MLflow experiments/create");
  }
  return {Delivery::Kind::retry, 1, "MLflow: experiment '" + name + "' could not be found or created", std::nullopt};
}

// A run the server will not open leaves nothing to log to: everything stays in the journal for
// `trainer sync` once the cause is fixed, instead of putting the start aside and every metric after it.
Delivery MlflowRestEndpoint::start_run(const TrackingRecord& record) {
  Delivery d = open_run(record);
  if (d.kind == Delivery::Kind::rejected) d.kind = Delivery::Kind::blocked;
  return d;
}

Delivery MlflowRestEndpoint::open_run(const TrackingRecord& record) {
  const Json& b = record.body;
  const std::string forced = field_or<std::string>(b, "run_id", "");
  if (run_id_.empty() && !forced.empty()) {
    HttpResponse got = call("GET", "runs/get?run_id=" + url_encode(forced));
    if (!got.ok()) return classify_response(got, 1, "MLflow runs/get (MLFLOW_RUN_ID=" + forced + ")");
    restore_run(parse_or_null(got.body)["run"]["info"]);
  }
  if (!run_id_.empty()) {  // a resumed run, or MLFLOW_RUN_ID: it is running again
    HttpResponse updated =
        call("POST", "runs/update", Json{{"run_id", run_id_}, {"run_uuid", run_id_}, {"status", "RUNNING"}});
    return classify_response(updated, 1, "MLflow runs/update");
  }
  std::string experiment_id;
  if (Delivery d = resolve_experiment(record, experiment_id); d.kind != Delivery::Kind::delivered) return d;
  const std::string key = field_or<std::string>(b, "run_key", "");
  if (!key.empty()) {
    Json info;
    if (Delivery d = find_run_by_key(experiment_id, key, info); d.kind != Delivery::Kind::delivered) return d;
    if (info.is_object() && info.contains("run_id")) {
      restore_run(info);
      if (experiment_id_.empty()) experiment_id_ = experiment_id;
      return Delivery::delivered(1);
    }
  }
  return create_run(record, experiment_id);
}

// runs/create cannot be repeated safely: when its answer is lost (a reset, a proxy's timeout) the
// server may have made the run, and a second create leaves an empty run RUNNING forever. So every
// run this client creates carries its start record's key as a tag, and before creating, the run
// with that key is looked up: the retry (or `trainer sync` after a crash) finds it instead.
Delivery MlflowRestEndpoint::find_run_by_key(const std::string& experiment_id, const std::string& key, Json& info) {
  const Json body{{"experiment_ids", {experiment_id}},
                  {"filter", std::string("tags.") + kMlflowRunKeyTag + " = '" + key + "'"},
                  {"max_results", 1}};
  const HttpResponse found = call("POST", "runs/search", body);
  Delivery d = classify_response(found, 1, "MLflow runs/search");
  if (d.kind == Delivery::Kind::rejected) {
    // A server without search (some MLflow-compatible services): create as before.
    if (!warned_no_search_)
      log_warning(d.message + "; runs are created without the look-up that prevents a duplicate after a lost answer");
    warned_no_search_ = true;
    return Delivery::delivered(1);
  }
  if (d.kind != Delivery::Kind::delivered) return d;
  const Json answer = parse_or_null(found.body);
  if (answer.is_object() && answer.contains("runs") && answer["runs"].is_array() && !answer["runs"].empty())
    info = answer["runs"][0].value("info", Json());
  return d;
}

Delivery MlflowRestEndpoint::create_run(const TrackingRecord& record, const std::string& experiment_id) {
  const Json& b = record.body;
  Json tags = key_values(b.value("tags", Json::object()));
  if (const std::string parent = field_or<std::string>(b, "parent_run_id", ""); !parent.empty())
    tags.push_back({{"key", "mlflow.parentRunId"}, {"value", parent}});
  if (const std::string key = field_or<std::string>(b, "run_key", ""); !key.empty())
    tags.push_back({{"key", kMlflowRunKeyTag}, {"value", key}});
  Json body{{"experiment_id", experiment_id},
            {"user_id", field_or<std::string>(b, "user_id", "")},
            {"start_time", field_or<int64_t>(b, "start_time", 0)},
            {"tags", tags}};
  if (const std::string name = field_or<std::string>(b, "run_name", ""); !name.empty()) body["run_name"] = name;
  HttpResponse created = call("POST", "runs/create", body, Repeat::harmful);
  Delivery d = classify_response(created, 1, "MLflow runs/create");
  if (d.kind != Delivery::Kind::delivered) return d;
  const Json info = parse_or_null(created.body)["run"]["info"];
  if (!info.is_object() || !info.contains("run_id"))
    return {Delivery::Kind::retry, 1, "MLflow runs/create: the answer holds no run id", std::nullopt};
  restore_run(info);
  if (experiment_id_.empty()) experiment_id_ = experiment_id;
  return d;
}

Delivery MlflowRestEndpoint::end_run(const TrackingRecord& record) {
  Json body{{"run_id", run_id_},
            {"run_uuid", run_id_},
            {"status", field_or<std::string>(record.body, "status", "FINISHED")},
            {"end_time", field_or<int64_t>(record.body, "end_time", 0)}};
  return classify_response(call("POST", "runs/update", body), 1, "MLflow runs/update");
}

Delivery MlflowRestEndpoint::log_batch(const std::vector<TrackingRecord>& pending) {
  BatchParts batch;
  size_t count = 0;
  while (count < pending.size() && batchable(pending[count]) && add_to_batch(pending[count], batch)) ++count;
  if (count == 0) {
    // One log with more than 1000 values: sent in slices of the limit, as one record.
    const TrackingRecord& r = pending.front();
    TrackingRecord slice = r;
    slice.body["metrics"] = Json::object();
    for (auto it = r.body["metrics"].begin(); it != r.body["metrics"].end(); ++it) {
      slice.body["metrics"][it.key()] = it.value();
      if (slice.body["metrics"].size() == kMlflowMaxMetricsPerBatch) {
        if (Delivery d = log_batch({slice}); d.kind != Delivery::Kind::delivered) return d;
        slice.body["metrics"] = Json::object();
      }
    }
    return slice.body["metrics"].empty() ? Delivery::delivered(1) : log_batch({slice});
  }
  Json body{{"run_id", run_id_}, {"metrics", batch.metrics}, {"params", batch.params}, {"tags", batch.tags}};
  return classify_response(call("POST", "runs/log-batch", body), count, "MLflow runs/log-batch");
}

std::string MlflowRestEndpoint::artifact_url(const std::string& artifact_path) const {
  const std::string root = artifact_uri_;
  std::string rest;
  if (root.rfind("mlflow-artifacts://", 0) == 0) {  // pinned to another host
    const std::string after = root.substr(19);
    const size_t slash = after.find('/');
    const std::string scheme = settings_.tracking_uri.substr(0, settings_.tracking_uri.find("://"));
    return scheme + "://" + after.substr(0, slash) + "/api/2.0/mlflow-artifacts/artifacts" +
           url_encode_path(slash == std::string::npos ? "" : after.substr(slash)) + "/" +
           url_encode_path(artifact_path);
  }
  if (root.rfind("mlflow-artifacts:", 0) == 0) {
    rest = root.substr(17);
    while (!rest.empty() && rest.front() == '/') rest.erase(rest.begin());
    return settings_.tracking_uri + "/api/2.0/mlflow-artifacts/artifacts/" + url_encode_path(rest) + "/" +
           url_encode_path(artifact_path);
  }
  return "";
}

Delivery MlflowRestEndpoint::upload_artifact(const TrackingRecord& record) {
  const std::string file = field_or<std::string>(record.body, "file", "");
  const std::string artifact_path = field_or<std::string>(record.body, "artifact_path", "");
  std::error_code ec;
  if (!fs::exists(file, ec))
    return {Delivery::Kind::rejected, 1, "MLflow artifact " + artifact_path + ": the staged file " + file + " is gone",
            std::nullopt};
  const std::string url = artifact_url(artifact_path);
  if (url.empty())
    return {Delivery::Kind::rejected, 1,
            "MLflow artifact " + artifact_path + ": the run's artifact_uri '" + artifact_uri_ +
                "' is not served by the tracking server; start `mlflow server` with --serve-artifacts (its default) "
                "to receive checkpoints",
            std::nullopt};
  HttpRequest request;
  request.method = "PUT";
  request.url = url;
  request.body_file = file;
  request.headers.emplace_back("Content-Type", "application/octet-stream");
  Delivery d = classify_response(http_.send(request), 1, "MLflow artifact upload " + artifact_path);
  if (d.kind == Delivery::Kind::delivered) fs::remove(file, ec);
  return d;
}

std::unique_ptr<RemoteEndpoint> make_mlflow_endpoint(const MlflowSettings& settings) {
  if (settings.store == MlflowStoreKind::rest) return std::make_unique<MlflowRestEndpoint>(settings);
  return std::make_unique<MlflowFileEndpoint>(settings.file_store_root());
}

}  // namespace trainer
