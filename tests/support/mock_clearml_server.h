#pragma once
// A stand-in for the ClearML API server: auth.login with Basic
// credentials giving a token that later calls must send as Bearer (expire_tokens() makes every
// token given so far answer 401, as an expired one does), projects.get_all/create, tasks.create,
// edit, started, completed, failed, stopped, and events.add_batch, whose body must be
// newline-delimited JSON (an array is a violation). Calls may carry a /vX.Y prefix. A scalar
// received again identical (task, metric, variant, iter, value, timestamp) is counted in
// duplicate_events; every request's shape is checked into violations().

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "http_test_server.h"
#include "trainer/core/json.h"

namespace trainer::testing {

struct StoredClearMLScalar {
  std::string metric, variant;
  int64_t iter;
  double value;
};

struct StoredClearMLModel {
  std::string id, name, uri, task, framework;
  int64_t iteration = -1;
};

struct StoredClearMLTask {
  std::string id, name, project, project_id, status = "created";
  std::vector<std::string> system_tags;
  Json hyperparams = Json::object(), configuration = Json::object();
  std::vector<StoredClearMLScalar> scalars;
  int64_t duplicate_events = 0;
};

class MockClearMLServer {
 public:
  // `basic`: the Authorization header auth.login must carry ("Basic <base64 key:secret>").
  explicit MockClearMLServer(std::string basic, int port = 0);

  HttpTestServer& http() { return server_; }
  std::string url() const { return server_.url(); }
  std::vector<StoredClearMLTask> tasks() const;
  std::map<std::string, std::string> projects() const;  // id -> name
  std::vector<std::string> violations() const;
  std::vector<StoredClearMLModel> models() const;
  // The files server on the same port: a form POST to / stores each file part under its field's
  // name (the path); DELETE /<path> removes one.
  std::map<std::string, std::string> files() const;
  int logins() const;
  void expire_tokens();
  Json state_json() const;

 private:
  TestResponse handle(const ReceivedRequest& request);
  TestResponse call(const std::string& endpoint, const ReceivedRequest& request);
  TestResponse violation(const std::string& what);
  StoredClearMLTask* find(const std::string& id);

  std::string basic_;
  mutable std::mutex mutex_;
  std::vector<std::string> valid_tokens_;
  int logins_ = 0;
  std::map<std::string, std::string> projects_;
  std::vector<StoredClearMLTask> tasks_;
  std::vector<std::string> violations_;
  std::map<std::string, int> seen_events_;
  std::vector<StoredClearMLModel> models_;
  std::map<std::string, std::string> files_;
  int next_id_ = 1;
  HttpTestServer server_;  // last: its threads call handle() and must stop before the state goes
};

}  // namespace trainer::testing
