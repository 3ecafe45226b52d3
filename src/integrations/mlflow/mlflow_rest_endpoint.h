#pragma once
// Where MLflowCallback's records go (RecordSender's endpoints): MlflowRestEndpoint, a tracking
// server's REST API 2.0 (here), or MlflowFileEndpoint, a local mlruns/ file store that MLflow's
// FileStore reads (mlflow_file_endpoint.h). Both take the same records, written by MlflowTracker:
//   start_run  {run_name, start_time, user_id, tags{}, experiment_name, experiment_id,
//               run_id (log into that run), parent_run_id, run_key}  -- opens (or reopens) the run;
//               a new run is tagged kMlflowRunKeyTag = run_key and looked up by it before it is
//               created, so that a create whose answer was lost is not made twice
//   params     {params: [[key, value], ...]}  (at most 100)
//   tags       {tags: {key: value}}
//   metrics    {step, timestamp (ms, when logged), metrics: {key: value}}
//   artifact   {file: a staged copy, artifact_path: "checkpoint-500/model.safetensors"}
//   end_run    {status: FINISHED|FAILED|KILLED, end_time}
// The run identity kept in the journal is {run_id, experiment_id, artifact_uri}.

#include <filesystem>
#include <memory>
#include <string>

#include "trainer/integrations/mlflow/mlflow_settings.h"
#include "trainer/tracking/http_endpoint.h"
#include "trainer/tracking/record_sender.h"

namespace trainer {

// The tag that names the start record a run was created for (a random key, kept in the journal).
inline constexpr const char* kMlflowRunKeyTag = "trainer_run_key";

class MlflowRestEndpoint : public HttpEndpoint {
 public:
  explicit MlflowRestEndpoint(const MlflowSettings& settings);
  Delivery send(const std::vector<TrackingRecord>& pending) override;
  Json run() const override;
  void restore_run(const Json& run) override;

 private:
  Delivery start_run(const TrackingRecord& record);
  Delivery open_run(const TrackingRecord& record);
  Delivery find_run_by_key(const std::string& experiment_id, const std::string& key, Json& info);
  Delivery create_run(const TrackingRecord& record, const std::string& experiment_id);
  Delivery end_run(const TrackingRecord& record);
  Delivery log_batch(const std::vector<TrackingRecord>& pending);
  Delivery upload_artifact(const TrackingRecord& record);
  Delivery resolve_experiment(const TrackingRecord& record, std::string& experiment_id);
  HttpResponse call(const std::string& method, const std::string& path, const Json& body = nullptr,
                    Repeat repeat = Repeat::harmless);
  std::string artifact_url(const std::string& artifact_path) const;

  MlflowSettings settings_;
  std::string run_id_, experiment_id_, artifact_uri_;
  bool warned_no_search_ = false;
};

// The MLflow endpoint for these settings.
std::unique_ptr<RemoteEndpoint> make_mlflow_endpoint(const MlflowSettings& settings);

}  // namespace trainer
