#pragma once
// Where CometCallback's records go: Comet's public REST API v2,
// one item per request, header `Authorization: <COMET_API_KEY>`. Records (CometTracker writes them):
//   experiment {workspace, project, name, experiment_key}  write/experiment/create, or the given key
//   params     {params: [[name, value], ...]}               write/experiment/parameter, one each
//   metrics    {step, epoch, timestamp, metrics: {k: v}}    write/experiment/metric, one each
//   graph      {graph}                                      write/experiment/graph
//   other      {key, value}                                 write/experiment/log-other
//   tags       {tags: [...]}                                write/experiment/tags
//   times      {start, end}                                 write/experiment/set-start-end-time (ms)
//   asset      {file, name, step}                           write/experiment/upload-asset (multipart)
//   stop       {}                                           GET write/experiment/stop
// A record of several items remembers how many went through, so a retry sends only the rest. The
// run identity kept in the journal is {experiment_key, workspace, project}.

#include <string>
#include <vector>

#include "trainer/integrations/comet/comet_settings.h"
#include "trainer/tracking/http_endpoint.h"
#include "trainer/tracking/record_sender.h"

namespace trainer {

class CometEndpoint : public HttpEndpoint {
 public:
  explicit CometEndpoint(const CometSettings& settings);
  Delivery send(const std::vector<TrackingRecord>& pending) override;
  Json run() const override;
  void restore_run(const Json& run) override;
  void heartbeat() override;

 private:
  Delivery create(const TrackingRecord& record);
  // Items `done_`.. of the record being sent, one request each.
  Delivery items(const std::vector<Json>& bodies, const std::string& call);
  Delivery asset(const TrackingRecord& record);
  HttpResponse post(const std::string& call, const Json& body, Repeat repeat = Repeat::harmless);
  HttpResponse get(const std::string& call);

  CometSettings settings_;
  std::string experiment_key_, workspace_, project_;
  int64_t progress_seq_ = 0;  // the record whose first done_ items went through
  size_t done_ = 0;
};

}  // namespace trainer
