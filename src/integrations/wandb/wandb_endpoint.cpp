#include "integrations/wandb/wandb_endpoint.h"

#include "trainer/core/argument_spec.h"

namespace trainer {
namespace {

const char* kUpsertBucket =
    R"(mutation UpsertBucket($id: String, $name: String, $project: String, $entity: String, $groupName: String, $description: String, $displayName: String, $notes: String, $config: JSONString, $host: String, $program: String, $jobType: String, $tags: [String!]) {
  upsertBucket(input: {id: $id, name: $name, groupName: $groupName, modelName: $project, entityName: $entity, description: $description, displayName: $displayName, notes: $notes, config: $config, host: $host, jobProgram: $program, jobType: $jobType, tags: $tags}) {
    bucket { id name displayName project { id name entity { id name } } }
    inserted
  }
})";

const char* kCreateRunFiles =
    R"(mutation CreateRunFiles($entity: String!, $project: String!, $run: String!, $files: [String!]!) {
  createRunFiles(input: {entityName: $entity, projectName: $project, runName: $run, files: $files}) {
    runID
    uploadHeaders
    files { name uploadUrl }
  }
})";

Json optional_string(const std::string& s) { return s.empty() ? Json() : Json(s); }

}  // namespace

WandbEndpoint::WandbEndpoint(const WandbSettings& settings)
    : HttpEndpoint(settings.http_options()), settings_(settings) {}

Json WandbEndpoint::run() const {
  if (storage_id_.empty()) return nullptr;
  return Json{{"run_id", run_id_}, {"entity", entity_}, {"project", project_}, {"storage_id", storage_id_}};
}

void WandbEndpoint::restore_run(const Json& run) {
  run_id_ = field_or<std::string>(run, "run_id", "");
  entity_ = field_or<std::string>(run, "entity", "");
  project_ = field_or<std::string>(run, "project", "");
  storage_id_ = field_or<std::string>(run, "storage_id", "");
}

Delivery WandbEndpoint::send(const std::vector<TrackingRecord>& pending) {
  const TrackingRecord& first = pending.front();
  if (first.type == "upsert_run") return upsert_run(first);
  if (storage_id_.empty())
    return Delivery{Delivery::Kind::blocked, 1, "W&B: no run to log into (its creation was not acknowledged)",
                    std::nullopt};
  if (first.type == "files") return upload_files(first);
  return stream(pending);
}

Delivery WandbEndpoint::graphql(const std::string& query, const Json& variables, const std::string& what, Json& data) {
  HttpRequest request;
  request.method = "POST";
  request.url = settings_.base_url + "/graphql";
  request.headers = {{"Content-Type", "application/json"}};
  request.body = dump_json(Json{{"query", query}, {"variables", variables}}, {-1, false, false});
  const HttpResponse response = http_.send(request);
  Delivery d = classify_response(response, 1, what);
  if (d.kind != Delivery::Kind::delivered) return d;
  Json answer;
  try {
    answer = Json::parse(response.body);
  } catch (const std::exception&) {
    return Delivery{Delivery::Kind::retry, 1, what + ": the answer is not JSON", std::nullopt};
  }
  // GraphQL reports its errors with HTTP 200: nothing later can succeed without this call.
  if (answer.contains("errors") && answer["errors"].is_array() && !answer["errors"].empty()) {
    const Json& e = answer["errors"][0];
    return Delivery{Delivery::Kind::blocked, 1,
                    what + ": " + (e.is_object() ? field_or<std::string>(e, "message", e.dump()) : e.dump()),
                    std::nullopt};
  }
  data = answer.value("data", Json::object());
  return d;
}

Delivery WandbEndpoint::upsert_run(const TrackingRecord& record) {
  const Json& b = record.body;
  Json config = Json::object();
  for (auto it = b["config"].begin(); it != b["config"].end(); ++it) config[it.key()] = Json{{"value", it.value()}};
  Json variables{{"name", b["run_id"]},
                 {"project", b["project"]},
                 {"entity", optional_string(field_or<std::string>(b, "entity", ""))},
                 {"groupName", optional_string(field_or<std::string>(b, "group", ""))},
                 {"displayName", optional_string(field_or<std::string>(b, "display_name", ""))},
                 {"notes", optional_string(field_or<std::string>(b, "notes", ""))},
                 {"jobType", optional_string(field_or<std::string>(b, "job_type", ""))},
                 {"tags", b.value("tags", Json::array())},
                 {"host", b.value("host", "")},
                 {"program", "trainer"},
                 {"config", dump_json(config, {-1, false, false})}};
  if (!storage_id_.empty() && run_id_ == b["run_id"].get<std::string>()) variables["id"] = storage_id_;
  Json data;
  Delivery d = graphql(kUpsertBucket, variables, "W&B UpsertBucket", data);
  if (d.kind != Delivery::Kind::delivered) return d;
  const Json bucket = data.value("upsertBucket", Json::object()).value("bucket", Json::object());
  if (!bucket.contains("id"))
    return Delivery{Delivery::Kind::retry, 1, "W&B UpsertBucket: the answer has no bucket id", std::nullopt};
  storage_id_ = bucket["id"].get<std::string>();
  run_id_ = field_or<std::string>(bucket, "name", b["run_id"].get<std::string>());
  const Json project = bucket.value("project", Json::object());
  project_ = field_or<std::string>(project, "name", b["project"].get<std::string>());
  entity_ =
      field_or<std::string>(project.value("entity", Json::object()), "name", field_or<std::string>(b, "entity", ""));
  return d;
}

std::string WandbEndpoint::stream_url() const {
  return settings_.base_url + "/files/" + url_encode_path(entity_) + "/" + url_encode_path(project_) + "/" +
         url_encode_path(run_id_) + "/file_stream";
}

HttpResponse WandbEndpoint::post_stream(const Json& body) {
  HttpRequest request;
  request.method = "POST";
  request.url = stream_url();
  request.headers = {{"Content-Type", "application/json"}};
  request.body = dump_json(body, {-1, false, false});
  return http_.send(request);
}

Delivery WandbEndpoint::stream(const std::vector<TrackingRecord>& pending) {
  Json lines = Json::array();
  int64_t first_offset = -1;
  Json summary;
  Json exit_code;
  size_t bytes = 0, n = 0;
  for (; n < pending.size(); ++n) {
    const TrackingRecord& r = pending[n];
    if (r.type == "history") {
      const int64_t offset = required_field<int64_t>(r.body, "offset");
      if (first_offset >= 0 && offset != first_offset + static_cast<int64_t>(lines.size()))
        break;  // lines must follow on
      std::string line = dump_json(r.body["row"], {-1, false, false});
      if (n > 0 && bytes + line.size() > kWandbMaxFileStreamBytes) break;
      if (first_offset < 0) first_offset = offset;
      bytes += line.size();
      lines.push_back(std::move(line));
    } else if (r.type == "summary") {
      summary = r.body["summary"];
    } else if (r.type == "exit") {
      exit_code = r.body["exitcode"];
      ++n;
      break;
    } else {
      break;  // files: a request of its own
    }
  }
  Json files = Json::object();
  if (!lines.empty()) files["wandb-history.jsonl"] = Json{{"offset", first_offset}, {"content", lines}};
  if (!summary.is_null())
    files["wandb-summary.json"] =
        Json{{"offset", 0}, {"content", Json::array({dump_json(summary, {-1, false, false})})}};
  Json body{{"files", files}};
  if (!exit_code.is_null()) {
    body["complete"] = true;
    body["exitcode"] = exit_code;
  }
  return classify_response(post_stream(body), n, "W&B file_stream");
}

Delivery WandbEndpoint::upload_files(const TrackingRecord& record) {
  Json names = Json::array();
  for (const auto& f : record.body["files"]) names.push_back(f["name"]);
  Json data;
  Delivery d =
      graphql(kCreateRunFiles, Json{{"entity", entity_}, {"project", project_}, {"run", run_id_}, {"files", names}},
              "W&B CreateRunFiles", data);
  if (d.kind != Delivery::Kind::delivered) return d;
  const Json created = data.value("createRunFiles", Json::object());
  std::vector<std::pair<std::string, std::string>> headers;
  for (const auto& h : created.value("uploadHeaders", Json::array())) {
    const std::string text = h.get<std::string>();
    const size_t colon = text.find(':');
    if (colon != std::string::npos) headers.emplace_back(text.substr(0, colon), text.substr(colon + 1));
  }
  for (const auto& f : record.body["files"]) {
    std::string url;
    for (const auto& c : created.value("files", Json::array()))
      if (c.value("name", "") == f["name"].get<std::string>()) url = c.value("uploadUrl", "");
    if (url.empty())
      return Delivery{Delivery::Kind::retry, 1, "W&B CreateRunFiles: no upload URL for " + f["name"].get<std::string>(),
                      std::nullopt};
    HttpRequest put;
    put.method = "PUT";
    put.url = url;
    put.headers = headers;
    put.body_file = f["file"].get<std::string>();
    put.without_authorization = true;  // a signed URL: the API key stays with W&B
    const Delivery uploaded = classify_response(http_.send(put), 1, "W&B file upload " + f["name"].get<std::string>());
    if (uploaded.kind != Delivery::Kind::delivered) return uploaded;
  }
  return classify_response(post_stream(Json{{"files", Json::object()}, {"uploaded", names}}), 1, "W&B file_stream");
}

void WandbEndpoint::heartbeat() {
  if (storage_id_.empty()) return;
  post_stream(Json{{"files", Json::object()}});
}

}  // namespace trainer
