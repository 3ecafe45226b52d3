#include "mock_mlflow_server.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <regex>

#include "test_control.h"

namespace trainer::testing {
namespace {

TestResponse error(int status, const std::string& code, const std::string& message) {
  TestResponse r;
  r.status = status;
  r.body = Json{{"error_code", code}, {"message", message}}.dump();
  return r;
}

TestResponse ok(const Json& body) {
  TestResponse r;
  r.body = body.dump();
  return r;
}

bool valid_name(const std::string& key) {
  static const std::regex pattern(R"(^[/\w.\- :]*$)");
  return !key.empty() && key.size() <= 250 && std::regex_match(key, pattern) && key.front() != '/' &&
         key.find("..") == std::string::npos && key.rfind("./", 0) != 0;
}

std::string multipart_filename(const std::string& headers) {
  const std::string marker = "filename=\"";
  const size_t at = headers.find(marker);
  if (at == std::string::npos) return "";
  return headers.substr(at + marker.size(), headers.find('"', at + marker.size()) - at - marker.size());
}

Json run_json(const StoredRun& run) {
  Json tags = Json::array();
  for (const auto& [key, value] : run.tags) tags.push_back({{"key", key}, {"value", value}});
  return Json{{"info",
               {{"run_id", run.run_id},
                {"run_uuid", run.run_id},
                {"experiment_id", run.experiment_id},
                {"run_name", run.run_name},
                {"status", run.status},
                {"start_time", run.start_time},
                {"artifact_uri", "mlflow-artifacts:/" + run.experiment_id + "/" + run.run_id + "/artifacts"},
                {"lifecycle_stage", "active"}}},
              {"data", {{"tags", tags}}}};
}

}  // namespace

MockMlflowServer::MockMlflowServer(std::string auth, int port)
    : auth_(std::move(auth)), server_([this](const ReceivedRequest& r) { return handle(r); }, port) {}

StoredRun* MockMlflowServer::find_run(const std::string& id) {
  for (auto& r : runs_)
    if (r.run_id == id) return &r;
  return nullptr;
}

TestResponse MockMlflowServer::violation(const std::string& what) {
  violations_.push_back(what);
  return error(400, "INVALID_PARAMETER_VALUE", what);
}

TestResponse MockMlflowServer::handle(const ReceivedRequest& request) {
  TestResponse control;
  if (handle_test_control(
          server_, request, [this] { return state_json(); }, control))
    return control;
  std::lock_guard<std::mutex> lock(mutex_);
  if (!auth_.empty()) {
    auto it = request.headers.find("authorization");
    if (it == request.headers.end() || it->second != auth_)
      return error(401, "UNAUTHENTICATED", "credentials required");
  }
  const std::string mlflow = "/api/2.0/mlflow/", artifacts = "/api/2.0/mlflow-artifacts/artifacts/";
  // A tracking URI may have a path before the API (DagsHub: /<owner>/<repo>.mlflow/api/2.0/mlflow/...).
  if (const size_t at = request.path.find(mlflow); at != std::string::npos)
    return handle_mlflow(request.path.substr(at + mlflow.size()), request);
  if (const size_t at = request.path.find(artifacts); at != std::string::npos && request.method == "PUT") {
    artifacts_[request.path.substr(at + artifacts.size())] = request.body;
    return ok(Json::object());
  }
  if (request.path.rfind("/api/v1/repos/", 0) == 0 && request.method == "PUT") {
    const std::string type = request.headers.count("content-type") ? request.headers.at("content-type") : "";
    const size_t b = type.find("boundary=");
    if (type.rfind("multipart/form-data", 0) != 0 || b == std::string::npos)
      return violation("DagsHub upload: not multipart/form-data");
    const std::string boundary = "--" + type.substr(b + 9);
    const std::string dir = request.path.substr(request.path.find("/content/") + 9);
    size_t files = 0, pos = 0;
    while ((pos = request.body.find(boundary, pos)) != std::string::npos) {
      pos += boundary.size();
      const size_t head_end = request.body.find("\r\n\r\n", pos);
      if (head_end == std::string::npos) break;
      const std::string head = request.body.substr(pos, head_end - pos);
      if (head.find("name=\"files\"") != std::string::npos) {
        ++files;
        uploads_.push_back(dir + "/" + multipart_filename(head));
      }
    }
    if (files > 100 || request.body.size() > (100u << 20) + 65536)
      return violation("DagsHub upload: over 100 files or 100 MiB");
    TestResponse r = ok(Json::object());
    r.headers["ETag"] = "\"commit-" + std::to_string(uploads_.size()) + "\"";
    return r;
  }
  TestResponse r;
  r.status = 404;
  r.content_type = "text/html";
  r.body = "<!doctype html><title>404 Not Found</title><h1>Not Found</h1>";
  return r;
}

TestResponse MockMlflowServer::handle_mlflow(const std::string& call, const ReceivedRequest& request) {
  Json body = Json::object();
  if (request.method == "POST") {
    auto type = request.headers.find("content-type");
    if (type == request.headers.end() || type->second.rfind("application/json", 0) != 0)
      return violation(call + ": Content-Type is not application/json");
    try {
      body = Json::parse(request.body);
    } catch (const std::exception&) {  // MLflow answers malformed JSON with an HTML 500 page
      violations_.push_back(call + ": malformed JSON body");
      TestResponse r;
      r.status = 500;
      r.content_type = "text/html";
      r.body = "<html><title>500 Internal Server Error</title></html>";
      return r;
    }
  }
  auto string_field = [&](const char* key) { return body.contains(key) && body[key].is_string(); };
  if (call == "experiments/get-by-name") {
    auto it = experiments_.find(request.query.count("experiment_name") ? request.query.at("experiment_name") : "");
    if (it == experiments_.end()) return error(404, "RESOURCE_DOES_NOT_EXIST", "Could not find experiment");
    return ok(Json{{"experiment",
                    {{"experiment_id", it->second},
                     {"name", it->first},
                     {"artifact_location", "mlflow-artifacts:/" + it->second},
                     {"lifecycle_stage", "active"}}}});
  }
  if (call == "experiments/create") {
    if (!string_field("name")) return violation("experiments/create: name is not a string");
    if (experiments_.count(body["name"])) return error(400, "RESOURCE_ALREADY_EXISTS", "Experiment already exists");
    const std::string id = std::to_string(100 + next_id_++);
    experiments_[body["name"]] = id;
    return ok(Json{{"experiment_id", id}});
  }
  if (call == "runs/create") {
    if (!string_field("experiment_id")) return violation("runs/create: experiment_id is not a string");
    if (!body.contains("start_time") || !body["start_time"].is_number_integer())
      return violation("runs/create: start_time is not an integer");
    if (!body.contains("tags") || !body["tags"].is_array()) return violation("runs/create: tags is not an array");
    StoredRun run;
    char id[33];
    std::snprintf(id, sizeof(id), "%032x", next_id_++);
    run.run_id = id;
    run.experiment_id = body["experiment_id"];
    run.run_name = body.value("run_name", std::string("generated-name-1"));
    run.user_id = body.value("user_id", std::string());
    run.start_time = body["start_time"];
    for (const Json& t : body["tags"]) {
      if (!t.contains("key") || !t["key"].is_string() || !t.contains("value") || !t["value"].is_string())
        return violation("runs/create: a tag is not {key, value} strings");
      run.tags[t["key"]] = t["value"];
    }
    run.tags["mlflow.runName"] = run.run_name;
    runs_.push_back(run);
    return ok(Json{{"run", run_json(run)}});
  }
  if (call == "runs/get") {
    StoredRun* run = find_run(request.query.count("run_id") ? request.query.at("run_id") : "");
    if (!run) return error(404, "RESOURCE_DOES_NOT_EXIST", "Run not found");
    return ok(Json{{"run", run_json(*run)}});
  }
  if (call == "runs/search") return search_runs(body);
  if (call == "runs/update") {
    StoredRun* run = string_field("run_id") ? find_run(body["run_id"]) : nullptr;
    if (!run) return error(404, "RESOURCE_DOES_NOT_EXIST", "Run not found");
    const std::string status = body.value("status", std::string());
    static const std::vector<std::string> statuses = {"RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"};
    if (std::find(statuses.begin(), statuses.end(), status) == statuses.end())
      return violation("runs/update: unknown status '" + status + "'");
    if (body.contains("end_time") && !body["end_time"].is_number_integer())
      return violation("runs/update: end_time is not an integer");
    run->status = status;
    run->end_time = body.value("end_time", int64_t{0});
    ++run->status_updates;
    return ok(Json{{"run_info", {{"run_id", run->run_id}, {"status", status}}}});
  }
  if (call == "runs/log-batch") return log_batch(body);
  TestResponse r;
  r.status = 404;
  r.content_type = "text/html";
  r.body = "<html>404</html>";
  return r;
}

// The filters this stand-in understands: none, or one tag compared with =, as MLflow's search
// grammar writes it (tags.<key> = '<value>'). Anything else is a violation, not an empty answer.
TestResponse MockMlflowServer::search_runs(const Json& body) {
  if (!body.contains("experiment_ids") || !body["experiment_ids"].is_array())
    return violation("runs/search: experiment_ids is not an array");
  const std::string filter = body.value("filter", std::string());
  static const std::regex tag_equals(R"(^tags\.([A-Za-z0-9_]+) = '([^'\\]*)'$)");
  std::smatch tag;
  if (!filter.empty() && !std::regex_match(filter, tag, tag_equals))
    return violation("runs/search: a filter this mock does not parse: " + filter);
  const int64_t max_results = body.value("max_results", int64_t{1000});
  Json found = Json::array();
  for (const StoredRun& run : runs_) {
    const auto& ids = body["experiment_ids"];
    if (std::find(ids.begin(), ids.end(), Json(run.experiment_id)) == ids.end()) continue;
    if (!filter.empty()) {
      const auto it = run.tags.find(tag[1].str());
      if (it == run.tags.end() || it->second != tag[2].str()) continue;
    }
    if (static_cast<int64_t>(found.size()) == max_results) break;
    found.push_back(run_json(run));
  }
  ++searches_;
  return ok(found.empty() ? Json::object() : Json{{"runs", found}});  // MLflow leaves an empty list out
}

TestResponse MockMlflowServer::log_batch(const Json& body) {
  ++log_batch_calls_;
  StoredRun* run = body.contains("run_id") && body["run_id"].is_string() ? find_run(body["run_id"]) : nullptr;
  if (!run) return error(404, "RESOURCE_DOES_NOT_EXIST", "Run not found");
  const Json metrics = body.value("metrics", Json::array()), params = body.value("params", Json::array()),
             tags = body.value("tags", Json::array());
  if (metrics.size() > 1000) return violation("log-batch: more than 1000 metrics");
  if (params.size() > 100) return violation("log-batch: more than 100 params");
  if (tags.size() > 100) return violation("log-batch: more than 100 tags");
  if (metrics.size() + params.size() + tags.size() > 1000) return violation("log-batch: more than 1000 entities");
  std::vector<StoredMetric> accepted;
  for (const Json& m : metrics) {
    if (!m.contains("key") || !m["key"].is_string() || !valid_name(m["key"]))
      return violation("log-batch: invalid metric name " + m.value("key", Json()).dump());
    if (!m.contains("timestamp") || !m["timestamp"].is_number_integer())
      return violation("log-batch: metric timestamp is not an integer");
    if (!m.contains("step") || !m["step"].is_number_integer())
      return violation("log-batch: metric step is not an integer");
    const Json& v = m["value"];
    double value;
    if (v.is_number())
      value = v.get<double>();
    else if (v == "NaN")
      value = std::numeric_limits<double>::quiet_NaN();
    else if (v == "Infinity")
      value = std::numeric_limits<double>::infinity();
    else if (v == "-Infinity")
      value = -std::numeric_limits<double>::infinity();
    else
      return violation("log-batch: metric value " + v.dump() + " is not a number");
    accepted.push_back({m["key"], value, m["timestamp"], m["step"]});
  }
  for (const Json& p : params) {
    if (!p.contains("key") || !p["key"].is_string() || !p.contains("value") || !p["value"].is_string())
      return violation("log-batch: a param is not {key, value} strings");
    auto it = run->params.find(p["key"]);
    if (it != run->params.end() && it->second != p["value"])
      return error(400, "INVALID_PARAMETER_VALUE",
                   "Changing param values is not allowed. Param with key='" + p["key"].get<std::string>() +
                       "' was already logged");
  }
  for (const Json& p : params) run->params[p["key"]] = p["value"];
  for (const Json& t : tags) run->tags[t["key"]] = t["value"];
  for (const StoredMetric& m : accepted) {
    const bool repeated = std::any_of(run->metrics.begin(), run->metrics.end(), [&](const StoredMetric& o) {
      return o.key == m.key && o.timestamp == m.timestamp && o.step == m.step &&
             (o.value == m.value || (std::isnan(o.value) && std::isnan(m.value)));
    });
    if (repeated)
      ++run->duplicate_points;
    else
      run->metrics.push_back(m);
  }
  return ok(Json::object());
}

std::vector<StoredRun> MockMlflowServer::runs() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return runs_;
}
std::map<std::string, std::string> MockMlflowServer::experiments() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return experiments_;
}
std::map<std::string, std::string> MockMlflowServer::artifacts() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return artifacts_;
}
std::vector<std::string> MockMlflowServer::uploads() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return uploads_;
}
std::vector<std::string> MockMlflowServer::violations() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return violations_;
}
int64_t MockMlflowServer::searches() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return searches_;
}
int64_t MockMlflowServer::log_batch_calls() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return log_batch_calls_;
}

Json MockMlflowServer::state_json() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Json runs = Json::array();
  for (const StoredRun& r : runs_) {
    Json metrics = Json::array();
    for (const StoredMetric& m : r.metrics)
      metrics.push_back({{"key", m.key},
                         {"value", std::isfinite(m.value) ? Json(m.value)
                                                          : Json(std::isnan(m.value) ? "NaN"
                                                                 : m.value > 0       ? "Infinity"
                                                                                     : "-Infinity")},
                         {"timestamp", m.timestamp},
                         {"step", m.step}});
    runs.push_back({{"run_id", r.run_id},
                    {"experiment_id", r.experiment_id},
                    {"run_name", r.run_name},
                    {"status", r.status},
                    {"status_updates", r.status_updates},
                    {"duplicate_points", r.duplicate_points},
                    {"params", r.params},
                    {"tags", r.tags},
                    {"metrics", metrics}});
  }
  Json artifacts = Json::object();
  for (const auto& [path, bytes] : artifacts_) artifacts[path] = bytes.size();
  return Json{{"runs", runs},        {"experiments", experiments_}, {"artifacts", artifacts},
              {"uploads", uploads_}, {"violations", violations_},   {"log_batch_calls", log_batch_calls_}};
}

}  // namespace trainer::testing
