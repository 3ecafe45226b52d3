#include "mock_clearml_server.h"

#include <algorithm>
#include <sstream>

#include "form_parts.h"
#include "test_control.h"

namespace trainer::testing {
namespace {

TestResponse answer(int status, const Json& data, const std::string& message = "OK") {
  TestResponse r;
  r.status = status;
  r.body = Json{{"meta", {{"result_code", status}, {"result_msg", message}, {"api_version", "2.23"}}}, {"data", data}}
               .dump();
  return r;
}

}  // namespace

MockClearMLServer::MockClearMLServer(std::string basic, int port)
    : basic_(std::move(basic)), server_([this](const ReceivedRequest& r) { return handle(r); }, port) {}

StoredClearMLTask* MockClearMLServer::find(const std::string& id) {
  for (auto& t : tasks_)
    if (t.id == id) return &t;
  return nullptr;
}

TestResponse MockClearMLServer::violation(const std::string& what) {
  violations_.push_back(what);
  return answer(400, Json::object(), what);
}

TestResponse MockClearMLServer::handle(const ReceivedRequest& request) {
  TestResponse control;
  if (handle_test_control(
          server_, request, [this] { return state_json(); }, control))
    return control;
  std::lock_guard<std::mutex> lock(mutex_);
  std::string path = request.path;
  if (path.rfind("/v", 0) == 0 && path.find('/', 1) != std::string::npos) path = path.substr(path.find('/', 1));
  const std::string endpoint = path.substr(1);
  if (request.method == "POST" && request.path == "/") {  // the files server: multipart parts named by their paths
    const auto parts = form_parts(request);
    if (!parts) return violation("files: not multipart/form-data");
    for (const auto& [path, bytes] : *parts) files_[path] = bytes;
    return answer(200, Json::array());
  }
  if (request.method == "DELETE") {
    files_.erase(request.path.substr(1));
    return answer(200, Json::object());
  }
  const std::string auth = request.headers.count("authorization") ? request.headers.at("authorization") : "";
  if (endpoint == "auth.login") {
    if (auth != basic_) return answer(401, Json::object(), "Unauthorized (invalid credentials)");
    const std::string token = "token-" + std::to_string(++logins_);
    valid_tokens_.push_back(token);
    return answer(200, Json{{"token", token}});
  }
  bool valid = false;
  for (const auto& t : valid_tokens_) valid = valid || auth == "Bearer " + t;
  if (!valid) return answer(401, Json::object(), "Unauthorized (invalid token)");
  if (request.method != "POST" && request.method != "GET") return violation(endpoint + ": method " + request.method);
  return call(endpoint, request);
}

TestResponse MockClearMLServer::call(const std::string& endpoint, const ReceivedRequest& request) {
  if (endpoint == "events.add_batch") {
    if (!request.body.empty() && request.body[0] == '[')
      return violation("events.add_batch: a JSON array, not newline-delimited JSON");
    std::istringstream lines(request.body);
    int added = 0;
    for (std::string line; std::getline(lines, line);) {
      if (line.empty()) continue;
      Json e;
      try {
        e = parse_json(line);
      } catch (const std::exception&) {
        return violation("events.add_batch: a line that is not JSON: " + line.substr(0, 80));
      }
      for (const char* k : {"type", "task", "timestamp", "iter", "metric", "variant", "value"})
        if (!e.contains(k)) return violation(std::string("events.add_batch: an event without ") + k);
      if (e["type"] != "training_stats_scalar") return violation("events.add_batch: type " + e["type"].dump());
      StoredClearMLTask* t = find(e["task"].get<std::string>());
      if (!t) return answer(400, Json::object(), "task not found");
      const std::string id = e.dump();
      if (seen_events_[id]++ > 0) {
        ++t->duplicate_events;
        continue;
      }
      t->scalars.push_back({e["metric"], e["variant"], e["iter"], e["value"]});
      ++added;
    }
    return answer(200, Json{{"added", added}, {"errors", 0}});
  }
  Json body;
  try {
    body = parse_json(request.body);
  } catch (const std::exception&) {
    return violation(endpoint + ": the body is not JSON");
  }
  if (endpoint == "projects.get_all") {
    const std::string pattern = body.value("name", "");
    Json found = Json::array();
    for (const auto& [id, name] : projects_)
      if ("^" + name + "$" == pattern) found.push_back(Json{{"id", id}});  // names in the tests need no escaping
    return answer(200, Json{{"projects", found}});
  }
  if (endpoint == "projects.create") {
    const std::string id = "project-" + std::to_string(next_id_++);
    projects_[id] = body.value("name", "");
    return answer(200, Json{{"id", id}});
  }
  if (endpoint == "tasks.create") {
    if (body.value("type", "") != "training" || !projects_.count(body.value("project", "")))
      return violation("tasks.create: needs type training and a known project");
    StoredClearMLTask t;
    t.id = "task-" + std::to_string(next_id_++);
    t.name = body.value("name", "");
    t.project = projects_[body.value("project", "")];
    t.project_id = body.value("project", "");
    for (const Json& tag : body.value("system_tags", Json::array())) t.system_tags.push_back(tag.get<std::string>());
    tasks_.push_back(t);
    return answer(200, Json{{"id", t.id}});
  }
  if (endpoint == "tasks.get_all") {  // filters: project ids, system tags (a task must have them all)
    Json found = Json::array();
    for (const auto& t : tasks_) {
      const Json projects = body.value("project", Json::array());
      if (!projects.empty() && std::find(projects.begin(), projects.end(), Json(t.project_id)) == projects.end())
        continue;
      bool all = true;
      for (const Json& tag : body.value("system_tags", Json::array()))
        all =
            all && std::find(t.system_tags.begin(), t.system_tags.end(), tag.get<std::string>()) != t.system_tags.end();
      if (all) found.push_back(Json{{"id", t.id}, {"name", t.name}});
    }
    return answer(200, Json{{"tasks", found}});
  }
  if (endpoint == "models.create") {
    if (!find(body.value("task", "")) || body.value("uri", "").empty() || body.value("name", "").empty())
      return violation("models.create: needs a known task, a uri and a name");
    models_.push_back({"model-" + std::to_string(next_id_++), body.value("name", ""), body.value("uri", ""),
                       body.value("task", ""), body.value("framework", "")});
    return answer(200, Json{{"id", models_.back().id}});
  }
  if (endpoint == "models.get_all") {  // filters: task ids, URIs
    Json found = Json::array();
    auto listed = [&](const char* key, const std::string& value) {
      const Json wanted = body.value(key, Json::array());
      return wanted.empty() || std::find(wanted.begin(), wanted.end(), Json(value)) != wanted.end();
    };
    for (const auto& m : models_)
      if (listed("task", m.task) && listed("uri", m.uri)) found.push_back(Json{{"id", m.id}});
    return answer(200, Json{{"models", found}});
  }
  if (endpoint == "models.update_for_task") {
    for (auto& m : models_)
      if (m.id == body.value("override_model_id", "")) {
        m.iteration = body.value("iteration", -1);
        return answer(200, Json{{"updated", 1}});
      }
    return answer(400, Json::object(), "model not found");
  }
  if (endpoint == "models.delete") {
    const auto before = models_.size();
    models_.erase(std::remove_if(models_.begin(), models_.end(),
                                 [&](const StoredClearMLModel& m) { return m.id == body.value("model", ""); }),
                  models_.end());
    return before == models_.size() ? answer(400, Json::object(), "model not found")
                                    : answer(200, Json{{"deleted", true}});
  }
  StoredClearMLTask* t = find(body.value("task", ""));
  if (!t) return answer(400, Json::object(), "task not found");
  if (endpoint == "tasks.edit") {
    t->hyperparams = body.value("hyperparams", Json::object());
    t->configuration = body.value("configuration", Json::object());
    return answer(200, Json{{"updated", 1}});
  }
  const std::map<std::string, std::string> statuses = {{"tasks.started", "in_progress"},
                                                       {"tasks.completed", "completed"},
                                                       {"tasks.failed", "failed"},
                                                       {"tasks.stopped", "stopped"}};
  if (auto it = statuses.find(endpoint); it != statuses.end()) {
    t->status = it->second;
    return answer(200, Json{{"updated", 1}});
  }
  return answer(404, Json::object(), "no endpoint " + endpoint);
}

std::vector<StoredClearMLTask> MockClearMLServer::tasks() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return tasks_;
}
std::map<std::string, std::string> MockClearMLServer::projects() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return projects_;
}
std::vector<std::string> MockClearMLServer::violations() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return violations_;
}
int MockClearMLServer::logins() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return logins_;
}
std::vector<StoredClearMLModel> MockClearMLServer::models() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return models_;
}
std::map<std::string, std::string> MockClearMLServer::files() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return files_;
}
void MockClearMLServer::expire_tokens() {
  std::lock_guard<std::mutex> lock(mutex_);
  valid_tokens_.clear();
}

Json MockClearMLServer::state_json() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Json tasks = Json::array();
  for (const auto& t : tasks_) {
    Json scalars = Json::array();
    for (const auto& s : t.scalars)
      scalars.push_back(Json{{"metric", s.metric}, {"variant", s.variant}, {"iter", s.iter}, {"value", s.value}});
    tasks.push_back(Json{{"id", t.id},
                         {"name", t.name},
                         {"project", t.project},
                         {"status", t.status},
                         {"scalars", scalars},
                         {"duplicate_events", t.duplicate_events}});
  }
  return Json{{"tasks", tasks}, {"violations", violations_}};
}

}  // namespace trainer::testing
