#pragma once
// A stand-in for `mlflow server` (REST API 2.0 and the mlflow-artifacts proxy) and for DagsHub's
// content API, answering as the MLflow server and DagsHub do, and
// checking the shape of every request (content type, fields and their JSON types, batch limits).
// Shape problems are recorded in violations() (and answered 400 as MLflow would). Like MLflow's
// database store (whose metrics table has (key, timestamp, step, value) in its primary key, and
// which merges a batch that repeats a point), a point received again identical is stored once;
// such repeats are counted in StoredRun::duplicate_points, so tests can hold the wire to exactly once.

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "http_test_server.h"
#include "trainer/core/json.h"

namespace trainer::testing {

struct StoredMetric {
  std::string key;
  double value;  // NaN/Inf kept
  int64_t timestamp;
  int64_t step;
};

struct StoredRun {
  std::string run_id, experiment_id, run_name, user_id, status = "RUNNING";
  int64_t start_time = 0, end_time = 0;
  std::map<std::string, std::string> params, tags;
  std::vector<StoredMetric> metrics;
  int status_updates = 0;
  int64_t duplicate_points = 0;  // identical points received again (not stored again)
};

class MockMlflowServer {
 public:
  // `auth`: the Authorization header every request must carry ("" = none checked).
  explicit MockMlflowServer(std::string auth = "", int port = 0);

  HttpTestServer& http() { return server_; }
  std::string url() const { return server_.url(); }

  std::vector<StoredRun> runs() const;
  std::map<std::string, std::string> experiments() const;  // name -> id
  std::map<std::string, std::string> artifacts() const;    // path -> bytes
  std::vector<std::string> uploads() const;                // DagsHub: "<dir>/<file>" per uploaded part
  std::vector<std::string> violations() const;
  int64_t log_batch_calls() const;
  int64_t searches() const;  // runs/search calls answered
  // Everything, as JSON (the standalone server's GET /__test__/state).
  Json state_json() const;

 private:
  TestResponse handle(const ReceivedRequest& request);
  TestResponse handle_mlflow(const std::string& call, const ReceivedRequest& request);
  TestResponse log_batch(const Json& body);
  TestResponse search_runs(const Json& body);
  TestResponse violation(const std::string& what);
  StoredRun* find_run(const std::string& id);

  std::string auth_;
  mutable std::mutex mutex_;
  std::map<std::string, std::string> experiments_{{"Default", "0"}};
  std::vector<StoredRun> runs_;
  std::map<std::string, std::string> artifacts_;
  std::vector<std::string> uploads_;
  std::vector<std::string> violations_;
  int64_t log_batch_calls_ = 0;
  int64_t searches_ = 0;
  int next_id_ = 1;
  HttpTestServer server_;  // last: its threads call handle() and must stop before the state goes
};

}  // namespace trainer::testing
