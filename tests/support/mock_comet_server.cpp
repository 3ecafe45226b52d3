#include "mock_comet_server.h"

#include <algorithm>
#include <cstdio>

#include "form_parts.h"
#include "test_control.h"

namespace trainer::testing {
namespace {

const std::string kBase = "/api/rest/v2/";

TestResponse answer(int status, const Json& body) {
  TestResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}

bool is_string(const Json& body, const char* key) { return body.contains(key) && body[key].is_string(); }

}  // namespace

MockCometServer::MockCometServer(std::string api_key, int port)
    : api_key_(std::move(api_key)), server_([this](const ReceivedRequest& r) { return handle(r); }, port) {}

StoredExperiment* MockCometServer::find(const std::string& key) {
  for (auto& e : experiments_)
    if (e.key == key) return &e;
  return nullptr;
}

TestResponse MockCometServer::violation(const std::string& what) {
  violations_.push_back(what);
  return answer(400, Json{{"msg", what}, {"code", 400}});
}

TestResponse MockCometServer::handle(const ReceivedRequest& request) {
  TestResponse control;
  if (handle_test_control(
          server_, request, [this] { return state_json(); }, control))
    return control;
  std::lock_guard<std::mutex> lock(mutex_);
  if (!api_key_.empty()) {
    auto it = request.headers.find("authorization");
    if (it == request.headers.end() || it->second != api_key_)
      return answer(401, Json{{"msg", "Invalid API key"}, {"code", 401}});
  }
  if (request.path.rfind(kBase, 0) != 0) return answer(404, Json{{"msg", "no route " + request.path}});
  const std::string call = request.path.substr(kBase.size());
  if (call == "workspaces" && request.method == "GET") return answer(200, Json{{"workspaceNames", {"mock-workspace"}}});
  if (call.rfind("write/experiment/", 0) == 0) return write(call.substr(17), request);
  return answer(404, Json{{"msg", "no route " + request.path}});
}

TestResponse MockCometServer::write(const std::string& call, const ReceivedRequest& request) {
  if (call == "set-status" || call == "stop") {
    if (request.method != "GET") return violation(call + ": expected GET");
    StoredExperiment* e = find(request.query.count("experimentKey") ? request.query.at("experimentKey") : "");
    if (!e) return answer(400, Json{{"msg", "experiment not found"}});
    if (call == "stop")
      e->stopped = true;
    else
      ++e->status_calls;
    return answer(200, Json::object());
  }
  if (request.method != "POST") return violation(call + ": expected POST");
  if (call == "upload-asset") {
    StoredExperiment* e = find(request.query.count("experimentKey") ? request.query.at("experimentKey") : "");
    if (!e) return answer(400, Json{{"msg", "experiment not found"}});
    const auto parts = form_parts(request);
    if (!parts) return violation("upload-asset: not multipart/form-data");
    if (parts->empty() || parts->front().first != "file") return violation("upload-asset: no part named file");
    if (!request.query.count("fileName")) return violation("upload-asset: no fileName");
    e->assets[request.query.at("fileName")] = parts->front().second;
    return answer(200, Json::object());
  }
  if (request.headers.count("content-type") == 0 ||
      request.headers.at("content-type").rfind("application/json", 0) != 0)
    return violation(call + ": Content-Type is not application/json");
  Json body;
  try {
    body = Json::parse(request.body);
  } catch (const std::exception&) {
    return violation(call + ": the body is not JSON");
  }
  if (call == "create") {
    if (!is_string(body, "workspaceName") || !is_string(body, "projectName"))
      return violation("create: workspaceName and projectName must be strings");
    StoredExperiment e;
    char key[40];
    std::snprintf(key, sizeof(key), "%032x", next_id_++);
    e.key = key;
    e.workspace = body["workspaceName"];
    e.project = body["projectName"];
    e.name = body.value("experimentName", "");
    experiments_.push_back(e);
    return answer(200, Json{{"experimentKey", e.key},
                            {"workspaceName", e.workspace},
                            {"projectName", e.project},
                            {"link", url() + "/" + e.workspace + "/" + e.project + "/" + e.key}});
  }
  if (!is_string(body, "experimentKey")) return violation(call + ": no experimentKey");
  StoredExperiment* e = find(body["experimentKey"]);
  if (!e) return answer(400, Json{{"msg", "experiment not found"}});
  if (call == "metric") {
    if (!is_string(body, "metricName") || !body.contains("metricValue") ||
        !(body["metricValue"].is_number() || body["metricValue"].is_string()))
      return violation("metric: metricName must be a string and metricValue a number or a string");
    if (!body.value("step", Json()).is_number_integer() || !body.value("epoch", Json()).is_number() ||
        !body.value("timestamp", Json()).is_number_integer())
      return violation("metric: step and timestamp must be integers, epoch a number");
    const std::string point = body["metricName"].get<std::string>() + "|" + body["step"].dump() + "|" +
                              body["metricValue"].dump() + "|" + body["timestamp"].dump();
    auto& seen = seen_points_[e->key];
    if (std::find(seen.begin(), seen.end(), point) != seen.end()) {
      ++e->duplicate_points;
      return answer(200, Json::object());
    }
    seen.push_back(point);
    e->metrics.push_back({body["metricName"], body["metricValue"], body["step"], body["epoch"]});
  } else if (call == "parameter") {
    if (!is_string(body, "parameterName") || !body.contains("parameterValue"))
      return violation("parameter: needs parameterName and parameterValue");
    e->parameters[body["parameterName"]] =
        body["parameterValue"].is_string() ? body["parameterValue"].get<std::string>() : body["parameterValue"].dump();
  } else if (call == "log-other") {
    if (!is_string(body, "key") || !body.contains("value")) return violation("log-other: needs key and value");
    e->others[body["key"]] = body["value"].is_string() ? body["value"].get<std::string>() : body["value"].dump();
  } else if (call == "tags") {
    if (!body.value("addedTags", Json()).is_array()) return violation("tags: addedTags must be a list");
    for (const auto& t : body["addedTags"]) e->tags.push_back(t);
  } else if (call == "graph") {
    if (!is_string(body, "graph")) return violation("graph: graph must be a string");
    e->graph = body["graph"];
  } else if (call == "set-start-end-time") {
    if (!body.value("startTimeMillis", Json()).is_number_integer() ||
        !body.value("endTimeMillis", Json()).is_number_integer())
      return violation("set-start-end-time: times must be integers (ms)");
    e->start_time = body["startTimeMillis"];
    e->end_time = body["endTimeMillis"];
  } else {
    return answer(404, Json{{"msg", "no route write/experiment/" + call}});
  }
  return answer(200, Json::object());
}

std::vector<StoredExperiment> MockCometServer::experiments() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return experiments_;
}

std::vector<std::string> MockCometServer::violations() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return violations_;
}

Json MockCometServer::state_json() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Json experiments = Json::array();
  for (const auto& e : experiments_) {
    Json metrics = Json::array();
    for (const auto& m : e.metrics)
      metrics.push_back({{"name", m.name}, {"value", m.value}, {"step", m.step}, {"epoch", m.epoch}});
    Json assets = Json::object();
    for (const auto& [name, bytes] : e.assets) assets[name] = bytes.size();
    experiments.push_back({{"key", e.key},
                           {"workspace", e.workspace},
                           {"project", e.project},
                           {"name", e.name},
                           {"graph", e.graph},
                           {"metrics", metrics},
                           {"parameters", e.parameters},
                           {"others", e.others},
                           {"tags", e.tags},
                           {"start_time", e.start_time},
                           {"end_time", e.end_time},
                           {"assets", assets},
                           {"status_calls", e.status_calls},
                           {"stopped", e.stopped},
                           {"duplicate_points", e.duplicate_points}});
  }
  return Json{{"experiments", experiments}, {"violations", violations_}};
}

}  // namespace trainer::testing
