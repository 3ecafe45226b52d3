#include "integrations/comet/comet_endpoint.h"

#include <cmath>
#include <filesystem>

#include "trainer/core/argument_spec.h"
#include "trainer/net/multipart.h"

namespace trainer {
namespace {

// JSON cannot hold NaN or infinities: Comet takes a metric's value as a string too.
Json metric_value(const Json& v) {
  if (!v.is_number_float()) return v;
  const double d = v.get<double>();
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  return v;
}

}  // namespace

CometEndpoint::CometEndpoint(const CometSettings& settings)
    : HttpEndpoint(settings.http_options()), settings_(settings) {}

Json CometEndpoint::run() const {
  if (experiment_key_.empty()) return nullptr;
  return Json{{"experiment_key", experiment_key_}, {"workspace", workspace_}, {"project", project_}};
}

void CometEndpoint::restore_run(const Json& run) {
  experiment_key_ = field_or<std::string>(run, "experiment_key", "");
  workspace_ = field_or<std::string>(run, "workspace", "");
  project_ = field_or<std::string>(run, "project", "");
}

HttpResponse CometEndpoint::post(const std::string& call, const Json& body, Repeat repeat) {
  HttpRequest request;
  request.method = "POST";
  request.repeat = repeat;
  request.url = settings_.api_url + "/" + call;
  request.headers = {{"Content-Type", "application/json"}};
  request.body = dump_json(body, {-1, false, false});
  return http_.send(request);
}

HttpResponse CometEndpoint::get(const std::string& call) {
  HttpRequest request;
  request.url = settings_.api_url + "/" + call + "?experimentKey=" + url_encode(experiment_key_);
  return http_.send(request);
}

Delivery CometEndpoint::send(const std::vector<TrackingRecord>& pending) {
  const TrackingRecord& r = pending.front();
  if (r.seq != progress_seq_) {
    progress_seq_ = r.seq;
    done_ = 0;
  }
  if (r.type == "experiment") return create(r);
  if (experiment_key_.empty())
    return Delivery{Delivery::Kind::blocked, 1, "Comet: no experiment to log into (its creation was not acknowledged)",
                    std::nullopt};
  const Json key = experiment_key_;
  const Json& b = r.body;
  if (r.type == "params") {
    std::vector<Json> bodies;
    for (const auto& p : b["params"])
      bodies.push_back(Json{{"experimentKey", key}, {"parameterName", p[0]}, {"parameterValue", p[1]}});
    return items(bodies, "write/experiment/parameter");
  }
  if (r.type == "metrics") {
    std::vector<Json> bodies;
    for (auto it = b["metrics"].begin(); it != b["metrics"].end(); ++it)
      bodies.push_back(Json{{"experimentKey", key},
                            {"metricName", it.key()},
                            {"metricValue", metric_value(it.value())},
                            {"step", b["step"]},
                            {"epoch", b["epoch"]},
                            {"timestamp", b["timestamp"]}});
    return items(bodies, "write/experiment/metric");
  }
  if (r.type == "graph") return items({Json{{"experimentKey", key}, {"graph", b["graph"]}}}, "write/experiment/graph");
  if (r.type == "other")
    return items({Json{{"experimentKey", key}, {"key", b["key"]}, {"value", b["value"]}}},
                 "write/experiment/log-other");
  if (r.type == "tags") return items({Json{{"experimentKey", key}, {"addedTags", b["tags"]}}}, "write/experiment/tags");
  if (r.type == "times")
    return items({Json{{"experimentKey", key}, {"startTimeMillis", b["start"]}, {"endTimeMillis", b["end"]}}},
                 "write/experiment/set-start-end-time");
  if (r.type == "asset") return asset(r);
  if (r.type == "stop") return classify_response(get("write/experiment/stop"), 1, "Comet write/experiment/stop");
  return Delivery{Delivery::Kind::rejected, 1, "Comet: unknown record type " + r.type, std::nullopt};
}

Delivery CometEndpoint::items(const std::vector<Json>& bodies, const std::string& call) {
  for (; done_ < bodies.size(); ++done_) {
    const Delivery d = classify_response(post(call, bodies[done_]), 1, "Comet " + call);
    if (d.kind != Delivery::Kind::delivered) return d;  // a retry goes on from this item
  }
  return Delivery::delivered(1);
}

Delivery CometEndpoint::create(const TrackingRecord& record) {
  const Json& b = record.body;
  project_ = field_or<std::string>(b, "project", "general");
  workspace_ = field_or<std::string>(b, "workspace", "");
  if (const std::string given = field_or<std::string>(b, "experiment_key", ""); !given.empty()) {
    experiment_key_ = given;  // COMET_EXPERIMENT_KEY: log into that experiment
    return Delivery::delivered(1);
  }
  if (workspace_.empty()) {  // the key's default workspace: the first the API lists
    HttpRequest request;
    request.url = settings_.api_url + "/workspaces";
    const HttpResponse response = http_.send(request);
    Delivery d = classify_response(response, 1, "Comet workspaces");
    if (d.kind != Delivery::Kind::delivered) return d;
    try {
      const Json list = Json::parse(response.body);
      const Json& names = list.is_object() ? list.at("workspaceNames") : list;
      workspace_ = names.at(0).get<std::string>();
    } catch (const std::exception&) {
      return Delivery{Delivery::Kind::blocked, 1,
                      "Comet workspaces: no workspace for this API key; set COMET_WORKSPACE", std::nullopt};
    }
  }
  Json body{{"workspaceName", workspace_}, {"projectName", project_}};
  if (const std::string name = field_or<std::string>(b, "name", ""); !name.empty()) body["experimentName"] = name;
  const HttpResponse response = post("write/experiment/create", body, Repeat::harmful);
  Delivery d = classify_response(response, 1, "Comet write/experiment/create");
  if (d.kind != Delivery::Kind::delivered) return d;
  try {
    experiment_key_ = Json::parse(response.body).at("experimentKey").get<std::string>();
  } catch (const std::exception&) {
    return Delivery{Delivery::Kind::retry, 1, "Comet write/experiment/create: the answer has no experimentKey",
                    std::nullopt};
  }
  return d;
}

Delivery CometEndpoint::asset(const TrackingRecord& record) {
  const std::string file = record.body["file"].get<std::string>();
  std::error_code ec;
  if (!std::filesystem::exists(file, ec))
    return Delivery{Delivery::Kind::rejected, 1, "Comet upload-asset: the staged file " + file + " is gone",
                    std::nullopt};
  MultipartForm form;
  form.add_file("file", record.body["name"].get<std::string>(), file);
  HttpRequest request;
  request.method = "POST";
  request.url = settings_.api_url + "/write/experiment/upload-asset?experimentKey=" + url_encode(experiment_key_) +
                "&fileName=" + url_encode(record.body["name"].get<std::string>()) +
                "&step=" + std::to_string(field_or<int64_t>(record.body, "step", 0)) + "&overwrite=true";
  request.headers = {{"Content-Type", form.content_type()}};
  request.body = form.finish();
  return classify_response(http_.send(request), 1, "Comet upload-asset");
}

void CometEndpoint::heartbeat() {
  if (!experiment_key_.empty()) get("write/experiment/set-status");
}

}  // namespace trainer
