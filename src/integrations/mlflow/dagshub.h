#pragma once
// DagsHub (`--report_to dagshub`): MLflow to the repository's
// `https://dagshub.com/<owner>/<repo>.mlflow` tracking URI and, with HF_DAGSHUB_LOG_ARTIFACTS, the
// output_dir uploaded at the end of training into the repository's `artifacts/` folder through the
// content API (multipart PUT, at most 100 files / 100 MiB per request, one commit each).
// Unlike the original, the MLflow run is ended, a trailing '/' in the URI is accepted, and a
// missing URI is reported before it is used.

#include <string>

#include "integrations/mlflow/mlflow_rest_endpoint.h"
#include "trainer/core/json.h"

namespace trainer {

struct DagsHubRepo {
  std::string host = "https://dagshub.com";  // DAGSHUB_CLIENT_HOST
  std::string owner, name, branch = "main";  // from the URI; BRANCH
  bool log_artifacts = false;                // HF_DAGSHUB_LOG_ARTIFACTS
  std::string authorization;                 // a secret; never in tracker.json

  // From MLFLOW_TRACKING_URI and the environment; throws ArgumentError naming the variable.
  static DagsHubRepo from_environment(const std::string& tracking_uri);
  Json to_journal_json() const;
  static DagsHubRepo from_journal_json(const Json& json);
};

inline constexpr size_t kDagsHubMaxFilesPerCommit = 100;
inline constexpr size_t kDagsHubMaxBytesPerCommit = 100u << 20;

// MLflow records go to the MLflow endpoint; `repo_upload` records {directory, files: [{file, path}]}
// are one commit each through the content API.
class DagsHubEndpoint : public HttpEndpoint {
 public:
  DagsHubEndpoint(const MlflowSettings& settings, DagsHubRepo repo);
  Delivery send(const std::vector<TrackingRecord>& pending) override;
  Json run() const override { return mlflow_.run(); }
  void restore_run(const Json& run) override { mlflow_.restore_run(run); }
  void set_aborted(bool aborted) override;  // the MLflow request in flight too

 private:
  Delivery upload(const TrackingRecord& record);
  MlflowRestEndpoint mlflow_;
  DagsHubRepo repo_;
};

}  // namespace trainer
