#pragma once
// Where an online WandbCallback's records go: W&B's GraphQL API
// and the run's file stream, with Basic auth "api:<WANDB_API_KEY>". Records (WandbTracker writes them):
//   upsert_run {run_id, entity, project, group, display_name, notes, job_type, tags[], config{k: v},
//               host}             GraphQL UpsertBucket; the answer names the entity and project
//   history    {offset, row}      wandb-history.jsonl line `offset` of the file stream
//   summary    {summary}          wandb-summary.json, the whole summary
//   files      {files: [{file, name}]}  GraphQL CreateRunFiles, a PUT to each upload URL, then
//                                 the names in the file stream's "uploaded"
//   exit       {exitcode}         the file stream's final {"complete": true, "exitcode": N}
// Consecutive history, summary and exit records go in one file-stream request. History lines carry
// their line number, so a request sent again (an answer lost, a process killed after the server
// took it) rewrites the same lines: the server holds each row once. The run identity kept in the
// journal is {run_id, entity, project, storage_id}.

#include <string>
#include <vector>

#include "trainer/integrations/wandb/wandb_settings.h"
#include "trainer/tracking/http_endpoint.h"
#include "trainer/tracking/record_sender.h"

namespace trainer {

inline constexpr size_t kWandbMaxFileStreamBytes = 4u << 20;  // well under the service's 10 MiB

class WandbEndpoint : public HttpEndpoint {
 public:
  explicit WandbEndpoint(const WandbSettings& settings);
  Delivery send(const std::vector<TrackingRecord>& pending) override;
  Json run() const override;
  void restore_run(const Json& run) override;
  void heartbeat() override;

 private:
  Delivery upsert_run(const TrackingRecord& record);
  Delivery stream(const std::vector<TrackingRecord>& pending);
  Delivery upload_files(const TrackingRecord& record);
  // A GraphQL call: the answer's "data", or a Delivery saying why not.
  Delivery graphql(const std::string& query, const Json& variables, const std::string& what, Json& data);
  HttpResponse post_stream(const Json& body);
  std::string stream_url() const;

  WandbSettings settings_;
  std::string run_id_, entity_, project_, storage_id_;
};

}  // namespace trainer
