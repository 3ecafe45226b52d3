#pragma once
// A stand-in for W&B's API as its SDK uses it: GraphQL (UpsertBucket,
// CreateRunFiles) at /graphql, signed upload URLs, and each run's file stream. It checks the shape
// of every request (JSON types, history lines with _step/_runtime/_timestamp, offsets, "uploaded"
// files that were put, nothing after "complete", no API key sent to an upload URL) and records
// problems in violations(). As the service, a history line is kept per offset: a line sent again
// at its offset replaces it (counted: repeated_lines when identical, replaced_lines when not).

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "http_test_server.h"
#include "trainer/core/json.h"

namespace trainer::testing {

struct StoredWandbRun {
  std::string storage_id, entity, project, name, display_name, group, job_type, notes;
  Json tags = Json::array();
  Json config = Json::object();            // {key: {"value": v}} as sent
  std::map<int64_t, std::string> history;  // offset -> line
  Json summary = Json::object();
  bool complete = false;
  int64_t exitcode = -1;
  std::map<std::string, std::string> files;  // uploaded run files: name -> bytes
  int upserts = 0, heartbeats = 0;
  int64_t repeated_lines = 0, replaced_lines = 0;
};

class MockWandbServer {
 public:
  // `auth`: the Authorization header every API request must carry ("" = none checked).
  explicit MockWandbServer(std::string auth = "", int port = 0);

  HttpTestServer& http() { return server_; }
  std::string url() const { return server_.url(); }
  std::vector<StoredWandbRun> runs() const;
  std::vector<std::string> violations() const;
  Json state_json() const;

 private:
  TestResponse handle(const ReceivedRequest& request);
  TestResponse graphql(const ReceivedRequest& request);
  TestResponse upsert_bucket(const Json& variables);
  TestResponse create_run_files(const Json& variables);
  TestResponse file_stream(const std::string& entity, const std::string& project, const std::string& run,
                           const std::string& body);
  TestResponse violation(const std::string& what);
  StoredWandbRun* find(const std::string& entity, const std::string& project, const std::string& name);

  std::string auth_;
  mutable std::mutex mutex_;
  std::vector<StoredWandbRun> runs_;
  std::map<std::string, std::string> pending_uploads_;  // upload path -> bytes
  std::vector<std::string> violations_;
  int next_id_ = 1;
  HttpTestServer server_;  // last: its threads call handle() and must stop before the state goes
};

}  // namespace trainer::testing
