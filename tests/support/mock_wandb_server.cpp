#include "mock_wandb_server.h"

#include "test_control.h"

namespace trainer::testing {
namespace {

const char* kDefaultEntity = "mock-entity";

TestResponse answer(int status, const Json& body) {
  TestResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}

TestResponse graphql_error(const std::string& message) {
  return answer(200, Json{{"errors", {{{"message", message}}}}});
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 1;
  while (start <= path.size()) {
    const size_t slash = std::min(path.find('/', start), path.size());
    parts.push_back(path.substr(start, slash - start));  // the path is decoded already
    start = slash + 1;
  }
  return parts;
}

}  // namespace

MockWandbServer::MockWandbServer(std::string auth, int port)
    : auth_(std::move(auth)), server_([this](const ReceivedRequest& r) { return handle(r); }, port) {}

StoredWandbRun* MockWandbServer::find(const std::string& entity, const std::string& project, const std::string& name) {
  for (auto& r : runs_)
    if (r.entity == entity && r.project == project && r.name == name) return &r;
  return nullptr;
}

TestResponse MockWandbServer::violation(const std::string& what) {
  violations_.push_back(what);
  return answer(400, Json{{"error", what}});
}

TestResponse MockWandbServer::handle(const ReceivedRequest& request) {
  TestResponse control;
  if (handle_test_control(
          server_, request, [this] { return state_json(); }, control))
    return control;
  std::lock_guard<std::mutex> lock(mutex_);
  if (request.path.rfind("/__upload__/", 0) == 0) {  // a signed URL: no API key expected
    if (request.method != "PUT") return violation("upload URL: expected PUT, got " + request.method);
    if (request.headers.count("authorization")) return violation("upload URL: the API key was sent to a signed URL");
    pending_uploads_[request.path] = request.body;
    return answer(200, Json::object());
  }
  if (!auth_.empty()) {
    auto it = request.headers.find("authorization");
    if (it == request.headers.end() || it->second != auth_)
      return answer(401, Json{{"error", "user is not logged in"}});
  }
  if (request.path == "/graphql" && request.method == "POST") return graphql(request);
  const std::vector<std::string> parts = split_path(request.path);
  if (parts.size() == 5 && parts[0] == "files" && parts[4] == "file_stream" && request.method == "POST")
    return file_stream(parts[1], parts[2], parts[3], request.body);
  return answer(404, Json{{"error", "no route " + request.method + " " + request.path}});
}

TestResponse MockWandbServer::graphql(const ReceivedRequest& request) {
  if (request.headers.count("content-type") == 0 ||
      request.headers.at("content-type").rfind("application/json", 0) != 0)
    return violation("graphql: Content-Type is not application/json");
  Json body;
  try {
    body = Json::parse(request.body);
  } catch (const std::exception&) {
    return violation("graphql: the body is not JSON");
  }
  if (!body.contains("query") || !body["query"].is_string() || !body.value("variables", Json()).is_object())
    return violation("graphql: expected {query: string, variables: object}");
  const std::string query = body["query"];
  if (query.find("upsertBucket(") != std::string::npos) return upsert_bucket(body["variables"]);
  if (query.find("createRunFiles(") != std::string::npos) return create_run_files(body["variables"]);
  return violation("graphql: an operation this mock does not know");
}

TestResponse MockWandbServer::upsert_bucket(const Json& v) {
  if (!v.contains("name") || !v["name"].is_string() || !v.contains("project") || !v["project"].is_string())
    return violation("UpsertBucket: name and project must be strings");
  for (const char* key : {"entity", "groupName", "displayName", "notes", "jobType", "id"})
    if (v.contains(key) && !v[key].is_null() && !v[key].is_string())
      return violation(std::string("UpsertBucket: ") + key + " must be a string");
  Json config = Json::object();
  if (v.contains("config") && !v["config"].is_null()) {
    if (!v["config"].is_string()) return violation("UpsertBucket: config must be a JSONString");
    try {
      config = parse_json(v["config"].get<std::string>());
    } catch (const std::exception&) {
      return violation("UpsertBucket: config is not JSON");
    }
    for (auto it = config.begin(); it != config.end(); ++it)
      if (!it.value().is_object() || !it.value().contains("value"))
        return violation("UpsertBucket: config." + it.key() + " is not {value: ...}");
  }
  const std::string entity = v.value("entity", Json()).is_string() ? v["entity"].get<std::string>() : kDefaultEntity;
  StoredWandbRun* run = find(entity, v["project"], v["name"]);
  const bool inserted = run == nullptr;
  if (!run) {
    runs_.push_back({});
    run = &runs_.back();
    run->storage_id = "UnVuOnYx" + std::to_string(next_id_++);
    run->entity = entity;
    run->project = v["project"];
    run->name = v["name"];
  } else if (v.contains("id") && v["id"].is_string() && v["id"] != run->storage_id) {
    return violation("UpsertBucket: id does not name this run");
  }
  auto text = [&](const char* key) {
    return v.value(key, Json()).is_string() ? v[key].get<std::string>() : std::string();
  };
  run->display_name = text("displayName");
  run->group = text("groupName");
  run->job_type = text("jobType");
  run->notes = text("notes");
  if (v.contains("tags") && v["tags"].is_array()) run->tags = v["tags"];
  run->config = config;
  run->complete = false;  // a resumed run is running again
  ++run->upserts;
  Json project{
      {"id", "UHJvamVjdDox"}, {"name", run->project}, {"entity", {{"id", "RW50aXR5OjE="}, {"name", run->entity}}}};
  return answer(200, Json{{"data",
                           {{"upsertBucket",
                             {{"bucket",
                               {{"id", run->storage_id},
                                {"name", run->name},
                                {"displayName", run->display_name},
                                {"project", project}}},
                              {"inserted", inserted}}}}}});
}

TestResponse MockWandbServer::create_run_files(const Json& v) {
  for (const char* key : {"entity", "project", "run"})
    if (!v.contains(key) || !v[key].is_string())
      return violation(std::string("CreateRunFiles: ") + key + " must be a string");
  if (!v.contains("files") || !v["files"].is_array()) return violation("CreateRunFiles: files must be a list");
  if (!find(v["entity"], v["project"], v["run"])) return graphql_error("run not found");
  Json files = Json::array();
  for (const auto& f : v["files"]) {
    const std::string path = "/__upload__/" + v["entity"].get<std::string>() + "/" + v["project"].get<std::string>() +
                             "/" + v["run"].get<std::string>() + "/" + f.get<std::string>();
    files.push_back({{"name", f}, {"uploadUrl", server_.url() + path}});
  }
  return answer(
      200,
      Json{{"data", {{"createRunFiles", {{"runID", v["run"]}, {"uploadHeaders", Json::array()}, {"files", files}}}}}});
}

TestResponse MockWandbServer::file_stream(const std::string& entity, const std::string& project,
                                          const std::string& name, const std::string& text) {
  StoredWandbRun* run = find(entity, project, name);
  if (!run) return answer(404, Json{{"error", "run " + entity + "/" + project + "/" + name + " not found"}});
  Json body;
  try {
    body = parse_json(text);
  } catch (const std::exception&) {
    return violation("file_stream: the body is not JSON");
  }
  if (!body.is_object()) return violation("file_stream: the body is not an object");
  const Json files = body.value("files", Json::object());
  if (!files.is_object()) return violation("file_stream: files is not an object");
  if (run->complete && (!files.empty() || body.contains("complete")))
    return violation("file_stream: data after complete");
  for (auto it = files.begin(); it != files.end(); ++it) {
    const Json& f = it.value();
    if (!f.contains("offset") || !f["offset"].is_number_integer() || !f.contains("content") || !f["content"].is_array())
      return violation("file_stream: " + it.key() + " needs an integer offset and a content list");
    int64_t offset = f["offset"];
    for (const auto& line : f["content"]) {
      if (!line.is_string()) return violation("file_stream: a content line is not a string");
      Json row;
      try {
        row = parse_json(line.get<std::string>());
      } catch (const std::exception&) {
        return violation("file_stream: " + it.key() + " line is not JSON");
      }
      if (it.key() == "wandb-history.jsonl") {
        for (const char* key : {"_step", "_runtime", "_timestamp"})
          if (!row.contains(key)) return violation(std::string("file_stream: a history line without ") + key);
        auto old = run->history.find(offset);
        if (old != run->history.end())
          ++(old->second == line.get<std::string>() ? run->repeated_lines : run->replaced_lines);
        run->history[offset] = line.get<std::string>();
      } else if (it.key() == "wandb-summary.json") {
        run->summary = row;
      }
      ++offset;
    }
  }
  for (const auto& name_json : body.value("uploaded", Json::array())) {
    const std::string file = name_json.get<std::string>();
    const std::string path = "/__upload__/" + entity + "/" + project + "/" + name + "/" + file;
    auto put = pending_uploads_.find(path);
    if (put == pending_uploads_.end()) return violation("file_stream: uploaded " + file + " was never put");
    run->files[file] = put->second;
  }
  if (body.contains("complete")) {
    if (!body["complete"].is_boolean() || !body.contains("exitcode") || !body["exitcode"].is_number_integer())
      return violation("file_stream: complete needs a bool and an integer exitcode");
    run->complete = body["complete"];
    run->exitcode = body["exitcode"];
  }
  if (files.empty() && !body.contains("uploaded") && !body.contains("complete")) ++run->heartbeats;
  return answer(200, Json{{"exitcode", nullptr}, {"limits", Json::object()}});
}

std::vector<StoredWandbRun> MockWandbServer::runs() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return runs_;
}

std::vector<std::string> MockWandbServer::violations() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return violations_;
}

Json MockWandbServer::state_json() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Json runs = Json::array();
  for (const auto& r : runs_) {
    Json history = Json::array();
    int64_t expected = 0;
    bool contiguous = true;
    for (const auto& [offset, line] : r.history) {
      contiguous = contiguous && offset == expected++;
      history.push_back(parse_json(line));
    }
    Json files = Json::object();
    for (const auto& [name, bytes] : r.files) files[name] = bytes.size();
    runs.push_back({{"storage_id", r.storage_id},
                    {"entity", r.entity},
                    {"project", r.project},
                    {"name", r.name},
                    {"display_name", r.display_name},
                    {"group", r.group},
                    {"job_type", r.job_type},
                    {"notes", r.notes},
                    {"tags", r.tags},
                    {"config", r.config},
                    {"history", history},
                    {"history_contiguous", contiguous},
                    {"summary", r.summary},
                    {"complete", r.complete},
                    {"exitcode", r.exitcode},
                    {"files", files},
                    {"upserts", r.upserts},
                    {"heartbeats", r.heartbeats},
                    {"repeated_lines", r.repeated_lines},
                    {"replaced_lines", r.replaced_lines}});
  }
  return Json{{"runs", runs}, {"violations", violations_}};
}

}  // namespace trainer::testing
