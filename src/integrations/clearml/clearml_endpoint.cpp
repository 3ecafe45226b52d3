#include "integrations/clearml/clearml_endpoint.h"

#include <unistd.h>

#include <filesystem>

#include "trainer/core/environment.h"
#include "trainer/integrations/zip_archive.h"
#include "trainer/net/multipart.h"

namespace trainer {
namespace {

// The name as a regular expression that matches only itself (projects.get_all takes a pattern).
std::string exact_pattern(const std::string& name) {
  std::string out = "^";
  for (char c : name) {
    if (std::string("\\^$.|?*+()[]{}").find(c) != std::string::npos) out += '\\';
    out += c;
  }
  return out + "$";
}

Json data_of(const HttpResponse& r) {
  try {
    return parse_json(r.body).value("data", Json::object());
  } catch (const std::exception&) {
    return Json::object();
  }
}

// The id of the first entry a get_all answered under `list` ("projects", "tasks", ...), or "".
std::string first_id(const HttpResponse& found, const char* list) {
  const Json entries = data_of(found).value(list, Json::array());
  return entries.empty() ? "" : entries[0].value("id", "");
}

}  // namespace

ClearMLEndpoint::ClearMLEndpoint(const ClearMLSettings& settings)
    : HttpEndpoint(settings.http_options()), settings_(settings) {}

Json ClearMLEndpoint::run() const {
  if (task_id_.empty()) return nullptr;
  return Json{{"task_id", task_id_}, {"project_id", project_id_}, {"task_name", task_name_}, {"models", models_}};
}

void ClearMLEndpoint::restore_run(const Json& run) {
  task_id_ = field_or<std::string>(run, "task_id", "");
  project_id_ = field_or<std::string>(run, "project_id", "");
  task_name_ = field_or<std::string>(run, "task_name", "");
  models_ = run.is_object() ? run.value("models", Json::object()) : Json::object();
  task_edited_ = task_started_ = !task_id_.empty();
}

HttpResponse ClearMLEndpoint::post(const std::string& endpoint, const std::string& body,
                                   const std::string& content_type, Repeat repeat) {
  HttpRequest request;
  request.method = "POST";
  request.repeat = repeat;
  request.url = settings_.api_host + (api_version_.empty() ? "" : "/v" + api_version_) + "/" + endpoint;
  request.headers = {{"Content-Type", content_type},
                     {"X-ClearML-Client", "trainer-cpp"},
                     {"X-ClearML-Worker", host_name() + ":" + std::to_string(::getpid())}};
  if (!token_.empty()) request.headers.emplace_back("Authorization", "Bearer " + token_);
  request.body = body;
  return http_.send(request);
}

HttpResponse ClearMLEndpoint::call(const std::string& endpoint, const std::string& body,
                                   const std::string& content_type, Repeat repeat) {
  HttpResponse r = post(endpoint, body, content_type, repeat);
  if (r.status == 401 && !token_.empty()) {  // the token expired: log in again, once
    token_.clear();
    if (login().kind != Delivery::Kind::delivered) return r;
    r = post(endpoint, body, content_type, repeat);
  }
  return r;
}

HttpResponse ClearMLEndpoint::call(const std::string& endpoint, const Json& body, Repeat repeat) {
  return call(endpoint, dump_json(body, {-1, false, false}), "application/json", repeat);
}

Delivery ClearMLEndpoint::login() {
  HttpRequest request;
  request.method = "POST";
  request.url = settings_.api_host + "/auth.login";
  request.headers = {{"Content-Type", "application/json"},
                     {"Authorization", !settings_.auth_token.empty()
                                           ? "Bearer " + settings_.auth_token
                                           : basic_authorization(settings_.access_key, settings_.secret_key)}};
  request.body = "{}";
  const HttpResponse r = http_.send(request);
  Delivery d = classify_response(r, 1, "ClearML auth.login");
  if (d.kind == Delivery::Kind::rejected) d.kind = Delivery::Kind::blocked;  // bad credentials: nothing can go
  if (d.kind != Delivery::Kind::delivered) return d;
  const Json answer = parse_json(r.body);
  token_ = answer.value("data", Json::object()).value("token", "");
  api_version_ = answer.value("meta", Json::object()).value("api_version", "");
  if (token_.empty()) return {Delivery::Kind::retry, 1, "ClearML auth.login answered without a token", std::nullopt};
  return d;
}

Delivery ClearMLEndpoint::send(const std::vector<TrackingRecord>& pending) {
  if (token_.empty()) {
    const Delivery d = login();
    if (d.kind != Delivery::Kind::delivered) return d;
  }
  const TrackingRecord& r = pending.front();
  if (r.type == "task") return create_task(r);
  if (task_id_.empty())
    return {Delivery::Kind::blocked, 1, "ClearML: no task to report to (its creation was not acknowledged)",
            std::nullopt};
  if (r.type == "metrics") return scalars(pending);
  if (r.type == "status") return status(r);
  if (r.type == "model") return model(r);
  if (r.type == "delete_model") return delete_model(r);
  return {Delivery::Kind::rejected, 1, "ClearML: unknown record type " + r.type, std::nullopt};
}

Delivery ClearMLEndpoint::create_task(const TrackingRecord& record) {
  const Json& b = record.body;
  if (project_id_.empty())
    if (Delivery d = find_or_create_project(b.value("project", "")); d.kind != Delivery::Kind::delivered) return d;
  if (task_id_.empty())
    if (Delivery d = find_or_create_task(b); d.kind != Delivery::Kind::delivered) return d;
  if (!task_edited_) {
    const Delivery d = classify_response(call("tasks.edit", Json{{"task", task_id_},
                                                                 {"force", true},
                                                                 {"hyperparams", b["hyperparams"]},
                                                                 {"configuration", b["configuration"]}}),
                                         1, "ClearML tasks.edit");
    if (d.kind != Delivery::Kind::delivered) return d;
    task_edited_ = true;
  }
  if (!task_started_) {
    const Delivery d =
        classify_response(call("tasks.started", Json{{"task", task_id_}, {"force", true}}), 1, "ClearML tasks.started");
    if (d.kind != Delivery::Kind::delivered) return d;
    task_started_ = true;
  }
  return Delivery::delivered(1);
}

// Looked up before it is created: a create whose answer was lost made it already.
Delivery ClearMLEndpoint::find_or_create_project(const std::string& name) {
  const HttpResponse found = call("projects.get_all", Json{{"name", exact_pattern(name)}, {"only_fields", {"id"}}});
  Delivery d = classify_response(found, 1, "ClearML projects.get_all");
  if (d.kind != Delivery::Kind::delivered) return d;
  project_id_ = first_id(found, "projects");
  if (!project_id_.empty()) return d;
  const HttpResponse created = call("projects.create", Json{{"name", name}, {"description", ""}}, Repeat::harmful);
  d = classify_response(created, 1, "ClearML projects.create");
  if (d.kind == Delivery::Kind::delivered) project_id_ = data_of(created).value("id", "");
  return d;
}

// tasks.create cannot be repeated safely (a second create after a lost answer leaves an empty task
// behind), and task names need not be unique: the task carries its record's key as a system tag,
// and the task with that key is looked up first.
Delivery ClearMLEndpoint::find_or_create_task(const Json& b) {
  const std::string key = b.value("run_key", "");
  Json system_tags = {"development"};
  if (!key.empty()) {
    system_tags.push_back(std::string(kClearMLRunKeyTag) + key);
    const HttpResponse found =
        call("tasks.get_all",
             Json{{"project", {project_id_}}, {"system_tags", {system_tags.back()}}, {"only_fields", {"id", "name"}}});
    const Delivery d = classify_response(found, 1, "ClearML tasks.get_all");
    if (d.kind != Delivery::Kind::delivered) return d;
    task_id_ = first_id(found, "tasks");
    if (!task_id_.empty()) {
      task_name_ = b.value("name", "");
      return d;
    }
  }
  const HttpResponse created = call("tasks.create",
                                    Json{{"name", b.value("name", "")},
                                         {"type", "training"},
                                         {"project", project_id_},
                                         {"comment", "Created by trainer (C++)"},
                                         {"system_tags", system_tags}},
                                    Repeat::harmful);
  const Delivery d = classify_response(created, 1, "ClearML tasks.create");
  if (d.kind != Delivery::Kind::delivered) return d;
  task_id_ = data_of(created).value("id", "");
  task_name_ = b.value("name", "");
  if (task_id_.empty()) return {Delivery::Kind::retry, 1, "ClearML tasks.create answered without an id", std::nullopt};
  return d;
}

// Up to 500 events of consecutive scalars records in one events.add_batch: one JSON object per line.
Delivery ClearMLEndpoint::scalars(const std::vector<TrackingRecord>& pending) {
  std::string body;
  size_t records = 0, events = 0;
  for (const auto& r : pending) {
    if (r.type != "metrics" || (records > 0 && events + r.body["events"].size() > 500)) break;
    for (const auto& e : r.body["events"]) {
      body += dump_json(Json{{"type", "training_stats_scalar"},
                             {"task", task_id_},
                             {"timestamp", e["timestamp"]},
                             {"iter", e["iter"]},
                             {"metric", e["metric"]},
                             {"variant", e["variant"]},
                             {"value", e["value"]}},
                        {-1, false, false}) +
              "\n";
      ++events;
    }
    ++records;
  }
  return classify_response(call("events.add_batch", body, "application/json-lines"), records,
                           "ClearML events.add_batch");
}

Delivery ClearMLEndpoint::status(const TrackingRecord& record) {
  const std::string status = record.body.value("status", "completed");
  Json body{{"task", task_id_}, {"force", true}};
  if (status != "completed") body["status_reason"] = record.body.value("reason", status);
  const std::string endpoint = status == "failed"    ? "tasks.failed"
                               : status == "stopped" ? "tasks.stopped"
                                                     : "tasks.completed";
  return classify_response(call(endpoint, body), 1, "ClearML " + endpoint);
}

// The files server: CLEARML_FILES_HOST, else the one beside the API server as ClearML lays them
// out (api.<domain> -> files.<domain>, port 8008 -> 8081).
std::string ClearMLEndpoint::files_host() const {
  if (!settings_.files_host.empty()) return settings_.files_host;
  std::string host = settings_.api_host;
  if (const size_t at = host.find("://api."); at != std::string::npos) return host.replace(at + 3, 4, "files.");
  if (const size_t at = host.rfind(":8008"); at != std::string::npos) return host.replace(at, 5, ":8081");
  return "";
}

Delivery ClearMLEndpoint::model(const TrackingRecord& record) {
  const Json& b = record.body;
  const std::string name = b.value("name", "");
  if (record.seq != model_seq_) {
    model_seq_ = record.seq;
    model_uri_.clear();
  }
  const std::string files = files_host();
  if (files.empty())
    return {Delivery::Kind::blocked, 1, "ClearML: no files server to upload " + name + " to; set CLEARML_FILES_HOST",
            std::nullopt};
  if (model_uri_.empty())
    if (Delivery d = upload_model_zip(record, files); d.kind != Delivery::Kind::delivered) return d;
  if (!models_.contains(name) || models_[name].value("uri", "") != model_uri_)
    if (Delivery d = find_or_create_model(name); d.kind != Delivery::Kind::delivered) return d;
  const Delivery d = classify_response(call("models.update_for_task", Json{{"task", task_id_},
                                                                           {"override_model_id", models_[name]["id"]},
                                                                           {"iteration", b.value("iteration", 0)}}),
                                       1, "ClearML models.update_for_task");
  for (const auto& f : b["files"]) {  // the staged copies are done with
    std::error_code ignored;
    if (d.kind == Delivery::Kind::delivered) std::filesystem::remove(f.value("file", ""), ignored);
  }
  return d;
}

// The checkpoint's files as one zip on the files server; the form field names its path there.
// Sent again, it replaces the same path: a repeat is harmless.
Delivery ClearMLEndpoint::upload_model_zip(const TrackingRecord& record, const std::string& files) {
  const Json& b = record.body;
  const std::string name = b.value("name", "");
  std::vector<std::pair<std::filesystem::path, std::string>> entries;
  for (const auto& f : b["files"]) entries.emplace_back(f.value("file", ""), f.value("name", ""));
  const std::filesystem::path zip =
      std::filesystem::temp_directory_path() /
      ("trainer-clearml-" + std::to_string(::getpid()) + "-" + std::to_string(record.seq) + ".zip");
  try {
    write_zip_archive(zip, entries);
  } catch (const std::exception& e) {
    return {Delivery::Kind::rejected, 1, std::string("ClearML: model ") + name + ": " + e.what(), std::nullopt};
  }
  const std::string path = b.value("project", "") + "/" + task_name_ + "." + task_id_ + "/models/" + name + ".zip";
  MultipartForm form;
  form.add_file(path, name + ".zip", zip);
  std::error_code ignored;
  std::filesystem::remove(zip, ignored);
  HttpRequest request;
  request.method = "POST";
  request.url = files + "/";
  request.headers = {{"Content-Type", form.content_type()}};
  if (!token_.empty()) request.headers.emplace_back("Authorization", "Bearer " + token_);
  request.body = form.finish();
  const Delivery d = classify_response(http_.send(request), 1, "ClearML files server upload of " + name);
  if (d.kind == Delivery::Kind::delivered) model_uri_ = files + "/" + url_encode_path(path);
  return d;
}

// The task's model at this URI, looked up before it is created: a create whose answer was lost
// made it already, and a second would list the checkpoint twice among the task's output models.
Delivery ClearMLEndpoint::find_or_create_model(const std::string& name) {
  const HttpResponse found =
      call("models.get_all", Json{{"task", {task_id_}}, {"uri", {model_uri_}}, {"only_fields", {"id"}}});
  Delivery d = classify_response(found, 1, "ClearML models.get_all");
  if (d.kind != Delivery::Kind::delivered) return d;
  if (const std::string id = first_id(found, "models"); !id.empty()) {
    models_[name] = Json{{"id", id}, {"uri", model_uri_}};
    return d;
  }
  const HttpResponse created = call("models.create",
                                    Json{{"uri", model_uri_},
                                         {"name", name},
                                         {"task", task_id_},
                                         {"project", project_id_},
                                         {"framework", "PyTorch"},
                                         {"ready", true}},
                                    Repeat::harmful);
  d = classify_response(created, 1, "ClearML models.create");
  if (d.kind == Delivery::Kind::delivered)
    models_[name] = Json{{"id", data_of(created).value("id", "")}, {"uri", model_uri_}};
  return d;
}

Delivery ClearMLEndpoint::delete_model(const TrackingRecord& record) {
  const std::string name = record.body.value("name", "");
  if (!models_.contains(name)) return Delivery::delivered(1);  // never registered: nothing to delete
  const Json model = models_[name];
  const Delivery d = classify_response(call("models.delete", Json{{"model", model.value("id", "")}, {"force", true}}),
                                       1, "ClearML models.delete");
  if (d.kind != Delivery::Kind::delivered) return d;
  HttpRequest request;  // the weights too; a files server that cannot delete keeps them (not an error)
  request.method = "DELETE";
  request.url = model.value("uri", "");
  if (!token_.empty()) request.headers.emplace_back("Authorization", "Bearer " + token_);
  http_.send(request);
  models_.erase(name);
  return d;
}

}  // namespace trainer
