#pragma once
// MlflowFileEndpoint: MLflowCallback's records (mlflow_rest_endpoint.h lists them) written into a
// local mlruns/ file store, as MLflow's FileStore writes it, for `mlflow ui` to read.

#include <filesystem>
#include <string>

#include "trainer/tracking/record_sender.h"

namespace trainer {

class MlflowFileEndpoint : public RemoteEndpoint {
 public:
  explicit MlflowFileEndpoint(std::filesystem::path root);
  Delivery send(const std::vector<TrackingRecord>& pending) override;
  Json run() const override;
  void restore_run(const Json& run) override;
  void set_aborted(bool) override {}

 private:
  Delivery start_run(const TrackingRecord& record);
  void write_run_meta(int status, const Json& end_time);
  std::string experiment_for(const std::string& name, const std::string& id);
  std::filesystem::path run_dir() const;

  std::filesystem::path root_;
  std::string run_id_, experiment_id_, run_name_, user_id_;
  int64_t start_time_ = 0;
};

}  // namespace trainer
