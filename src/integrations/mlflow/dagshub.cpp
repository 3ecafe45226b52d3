#include "integrations/mlflow/dagshub.h"

#include <filesystem>
#include <fstream>
#include <random>

#include "trainer/core/argument_spec.h"
#include "trainer/core/logging.h"
#include "trainer/integrations/mlflow/mlflow_tracker.h"
#include "trainer/net/multipart.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

// DagsHub after training: output_dir's files staged and cut into commits of the API's limits.
class DagsHubTracker : public MlflowTracker {
 public:
  DagsHubTracker(MlflowSettings settings, const TrainingArguments& args, DagsHubRepo repo)
      : MlflowTracker(settings, args, options_for(repo)), repo_(std::move(repo)) {}

  void finish(RunStatus status) override {
    if (repo_.log_artifacts && sender_ && !uploaded_) {
      uploaded_ = true;
      upload_output_dir();
    }
    MlflowTracker::finish(status);
  }

 private:
  static MlflowTrackerOptions options_for(const DagsHubRepo& repo) {
    MlflowTrackerOptions o;
    o.name = "dagshub";
    o.display = "DagsHub";
    o.make_endpoint = [repo](const MlflowSettings& s) { return std::make_unique<DagsHubEndpoint>(s, repo); };
    o.journal_extra = Json{{"dagshub", repo.to_journal_json()}};
    return o;
  }

  void upload_output_dir() {
    Json files = Json::array();
    size_t bytes = 0;
    auto flush = [&] {
      if (files.empty()) return;
      submit("repo_upload", Json{{"directory", "artifacts"}, {"files", files}});
      files = Json::array();
      bytes = 0;
    };
    for (const auto& [file, relative] : output_dir_files()) {
      const size_t size = static_cast<size_t>(fs::file_size(file));
      if (!files.empty() && (files.size() == kDagsHubMaxFilesPerCommit || bytes + size > kDagsHubMaxBytesPerCommit))
        flush();
      files.push_back({{"file", stage(file, "dagshub/" + relative).string()}, {"path", relative}});
      bytes += size;
    }
    flush();
  }

  DagsHubRepo repo_;
  bool uploaded_ = false;
};

}  // namespace

DagsHubRepo DagsHubRepo::from_environment(const std::string& tracking_uri) {
  DagsHubRepo repo;
  if (tracking_uri.empty())
    throw ArgumentError(
        "DagsHubCallback: MLFLOW_TRACKING_URI is not set; set it to the repository's MLflow URI, "
        "https://dagshub.com/<owner>/<repo>.mlflow (dagshub.init() prints it)");
  std::string uri = tracking_uri;
  while (!uri.empty() && uri.back() == '/') uri.pop_back();
  const size_t last = uri.rfind('/');
  const size_t before = last == std::string::npos ? std::string::npos : uri.rfind('/', last - 1);
  if (last == std::string::npos || before == std::string::npos || before < uri.find("://") + 3)
    throw ArgumentError("DagsHubCallback: MLFLOW_TRACKING_URI '" + tracking_uri +
                        "' is not a repository's MLflow URI https://dagshub.com/<owner>/<repo>.mlflow");
  repo.owner = uri.substr(before + 1, last - before - 1);
  repo.name = uri.substr(last + 1);
  repo.name = repo.name.substr(0, repo.name.find('.'));
  if (const std::string host = env_string("DAGSHUB_CLIENT_HOST"); !host.empty()) repo.host = host;
  while (!repo.host.empty() && repo.host.back() == '/') repo.host.pop_back();
  if (const std::string branch = env_string("BRANCH"); !branch.empty()) repo.branch = branch;
  repo.log_artifacts = env_flag("HF_DAGSHUB_LOG_ARTIFACTS");
  return repo;
}

Json DagsHubRepo::to_journal_json() const {
  return Json{{"host", host}, {"owner", owner}, {"name", name}, {"branch", branch}};
}

DagsHubRepo DagsHubRepo::from_journal_json(const Json& json) {
  DagsHubRepo repo;
  repo.host = field_or<std::string>(json, "host", repo.host);
  repo.owner = field_or<std::string>(json, "owner", "");
  repo.name = field_or<std::string>(json, "name", "");
  repo.branch = field_or<std::string>(json, "branch", "main");
  return repo;
}

namespace {

// DAGSHUB_USER_TOKEN (Bearer), DAGSHUB_USERNAME + DAGSHUB_PASSWORD, else MLflow's own credentials.
std::string dagshub_authorization(const MlflowSettings& settings) {
  if (const std::string token = env_string("DAGSHUB_USER_TOKEN"); !token.empty()) return "Bearer " + token;
  const std::string user = env_string("DAGSHUB_USERNAME"), password = env_string("DAGSHUB_PASSWORD");
  if (!user.empty()) return basic_authorization(user, password);
  return settings.authorization();
}

HttpOptions upload_options(const MlflowSettings& settings) {
  HttpOptions o = settings.http_options();
  o.request_timeout = std::max(settings.request_timeout, std::chrono::milliseconds(600000));  // 100 MiB commits
  o.authorization = dagshub_authorization(settings);
  return o;
}

}  // namespace

DagsHubEndpoint::DagsHubEndpoint(const MlflowSettings& settings, DagsHubRepo repo)
    : HttpEndpoint(upload_options(settings)), mlflow_(settings), repo_(std::move(repo)) {}

void DagsHubEndpoint::set_aborted(bool aborted) {
  mlflow_.set_aborted(aborted);
  HttpEndpoint::set_aborted(aborted);
}

Delivery DagsHubEndpoint::send(const std::vector<TrackingRecord>& pending) {
  if (pending.front().type == "repo_upload") return upload(pending.front());
  std::vector<TrackingRecord> mlflow_part;
  for (const TrackingRecord& r : pending) {
    if (r.type == "repo_upload") break;
    mlflow_part.push_back(r);
  }
  return mlflow_.send(mlflow_part);
}

Delivery DagsHubEndpoint::upload(const TrackingRecord& record) {
  MultipartForm form;
  const Json files = record.body.value("files", Json::array());
  form.add_field("commit_choice", "direct");
  form.add_field("commit_summary", "trainer: " + std::to_string(files.size()) + " files of the run's output");
  form.add_field("versioning", "auto");
  for (const Json& f : files) {
    const std::string staged = f["file"].get<std::string>();
    std::error_code ec;
    if (!fs::exists(staged, ec))
      return {Delivery::Kind::rejected, 1, "DagsHub upload: the staged file " + staged + " is gone", std::nullopt};
    form.add_file("files", f["path"].get<std::string>(), staged);
  }
  HttpRequest request;
  request.method = "PUT";
  request.url = repo_.host + "/api/v1/repos/" + url_encode(repo_.owner) + "/" + url_encode(repo_.name) + "/content/" +
                url_encode(repo_.branch) + "/" +
                url_encode_path(record.body.value("directory", std::string("artifacts")));
  request.headers.emplace_back("Content-Type", form.content_type());
  request.body = form.finish();
  Delivery d = classify_response(http_.send(request), 1, "DagsHub upload");
  if (d.kind == Delivery::Kind::delivered)
    for (const Json& f : files) {
      std::error_code ec;
      fs::remove(f["file"].get<std::string>(), ec);
    }
  return d;
}

std::shared_ptr<StatefulTrackerCallback> make_dagshub_callback() {
  MlflowSettings settings = MlflowSettings::from_environment("DagsHubCallback");
  DagsHubRepo repo = DagsHubRepo::from_environment(settings.tracking_uri);
  if (settings.store != MlflowStoreKind::rest)
    throw ArgumentError(
        "DagsHubCallback: MLFLOW_TRACKING_URI must be https://dagshub.com/<owner>/<repo>.mlflow, got '" +
        settings.tracking_uri + "'");
  TrackerTraits traits;
  traits.callback_name = "DagsHubCallback";
  traits.keys = mlflow_metric_key;
  traits.artifacts = settings.log_artifacts;
  return std::make_shared<StatefulTrackerCallback>(traits, [settings, repo](const TrainingArguments& args) {
    return std::make_unique<DagsHubTracker>(settings, args, repo);
  });
}

}  // namespace trainer
