#pragma once
// A stand-in for Comet's public REST API v2: experiment create,
// metric, parameter, log-other, tags, graph, set-start-end-time, upload-asset (multipart),
// set-status and stop, under /api/rest/v2, with the raw API key as the Authorization header. It
// checks every request's shape and records problems in violations(); a metric point received
// again identical (same name, step, value and timestamp) is counted in duplicate_points.

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "http_test_server.h"
#include "trainer/core/json.h"

namespace trainer::testing {

struct StoredCometMetric {
  std::string name;
  Json value;
  int64_t step;
  double epoch;
};

struct StoredExperiment {
  std::string key, workspace, project, name, graph;
  std::vector<StoredCometMetric> metrics;
  std::map<std::string, std::string> parameters, others, assets;  // assets: file name -> bytes
  std::vector<std::string> tags;
  int64_t start_time = 0, end_time = 0;
  int status_calls = 0;
  bool stopped = false;
  int64_t duplicate_points = 0;
};

class MockCometServer {
 public:
  explicit MockCometServer(std::string api_key = "", int port = 0);

  HttpTestServer& http() { return server_; }
  std::string url() const { return server_.url(); }
  std::vector<StoredExperiment> experiments() const;
  std::vector<std::string> violations() const;
  Json state_json() const;

 private:
  TestResponse handle(const ReceivedRequest& request);
  TestResponse write(const std::string& call, const ReceivedRequest& request);
  TestResponse violation(const std::string& what);
  StoredExperiment* find(const std::string& key);

  std::string api_key_;
  mutable std::mutex mutex_;
  std::vector<StoredExperiment> experiments_;
  std::vector<std::string> violations_;
  std::map<std::string, std::vector<std::string>> seen_points_;  // key -> "name|step|value|timestamp"
  int next_id_ = 1;
  HttpTestServer server_;  // last: its threads call handle() and must stop before the state goes
};

}  // namespace trainer::testing
