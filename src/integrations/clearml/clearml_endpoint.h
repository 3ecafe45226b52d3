#pragma once
// ClearMLEndpoint: the ClearML REST API for the RecordSender:
//   auth.login            Basic access_key:secret_key (or Bearer CLEARML_AUTH_TOKEN) -> a token,
//                         sent as Bearer on every call; a 401 logs in again once
//   task    {project, name, hyperparams, configuration, run_key}
//                         projects.get_all (^name$) or projects.create; tasks.get_all by the
//                         system tag trainer_run_key:<run_key>, or tasks.create (training) with
//                         it (a create whose answer was lost is found, not made twice);
//                         tasks.edit (hyper-parameters, configuration), tasks.started
//   metrics {step, metrics, events: [{metric, variant, iter, value, timestamp}]}
//                         events.add_batch: newline-delimited JSON, several records per request
//   status  {status: completed | failed | stopped, reason}
//                         tasks.completed, tasks.failed or tasks.stopped
//   model   {name, iteration, files: [{file, name}]}   (CLEARML_LOG_MODEL)
//                         the checkpoint's files zipped and uploaded to the files server (a form
//                         POST whose field is the path <project>/<task>.<task id>/models/<name>.zip),
//                         then models.get_all (task, uri) or models.create (uri, name, task,
//                         project, framework), and models.update_for_task (iteration)
//   delete_model {name}   models.delete and the weights' DELETE on the files server (rotation)
// Calls are POST <api_host>/v<version>/<service>.<action> with a JSON body, the version the login
// answered with. The task's identity {task_id, project_id} is kept in the journal.

#include <memory>
#include <string>
#include <vector>

#include "trainer/integrations/clearml/clearml_settings.h"
#include "trainer/tracking/http_endpoint.h"
#include "trainer/tracking/record_sender.h"

namespace trainer {

// The system tag's prefix that names the task record a task was created for.
inline constexpr const char* kClearMLRunKeyTag = "trainer_run_key:";

class ClearMLEndpoint : public HttpEndpoint {
 public:
  explicit ClearMLEndpoint(const ClearMLSettings& settings);

  Delivery send(const std::vector<TrackingRecord>& pending) override;
  Json run() const override;
  void restore_run(const Json& run) override;

 private:
  // A call with the token; a 401 logs in again once and repeats it.
  HttpResponse call(const std::string& endpoint, const std::string& body, const std::string& content_type,
                    Repeat repeat = Repeat::harmless);
  HttpResponse call(const std::string& endpoint, const Json& body, Repeat repeat = Repeat::harmless);
  HttpResponse post(const std::string& endpoint, const std::string& body, const std::string& content_type,
                    Repeat repeat);
  Delivery login();
  Delivery create_task(const TrackingRecord& record);
  Delivery find_or_create_project(const std::string& name);
  Delivery find_or_create_task(const Json& task_record);
  Delivery scalars(const std::vector<TrackingRecord>& pending);
  Delivery status(const TrackingRecord& record);
  Delivery model(const TrackingRecord& record);
  Delivery upload_model_zip(const TrackingRecord& record, const std::string& files);
  Delivery find_or_create_model(const std::string& name);
  Delivery delete_model(const TrackingRecord& record);
  std::string files_host() const;

  ClearMLSettings settings_;
  std::string token_, api_version_;
  std::string project_id_, task_id_;
  std::string task_name_;
  bool task_edited_ = false, task_started_ = false;  // how far the task's creation got (a retry goes on)
  Json models_ = Json::object();                     // name -> {id, uri}: the output models registered
  int64_t model_seq_ = -1;                           // the model record being sent, and how far it got
  std::string model_uri_;
};

}  // namespace trainer
