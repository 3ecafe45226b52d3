#include "trainer/integrations/registry.h"

#include "trainer/core/argument_spec.h"
#include "trainer/integrations/clearml/clearml_tracker.h"
#include "trainer/integrations/codecarbon/codecarbon_callback.h"
#include "trainer/integrations/comet/comet_tracker.h"
#include "trainer/integrations/dvclive/dvclive_callback.h"
#include "trainer/integrations/flyte/flyte_callback.h"
#include "trainer/integrations/log_history_file_callback.h"
#include "trainer/integrations/mlflow/mlflow_settings.h"
#include "trainer/integrations/mlflow/mlflow_tracker.h"
#include "trainer/integrations/neptune/neptune_callback.h"
#include "trainer/tracking/record_sender.h"
#include "trainer/integrations/report/report_callback.h"
#include "trainer/integrations/tensorboard/tensorboard_callback.h"
#include "trainer/integrations/trackio/trackio_tracker.h"
#include "trainer/integrations/wandb/wandb_tracker.h"

namespace trainer {
namespace {

// The integrations this library ships, in the order `all` adds them.
std::vector<Integration> builtin_integrations() {
  // None needs more than a writable directory, so each is available wherever the library runs.
  return {
      {"dvclive", nullptr, [] { return std::make_shared<DVCLiveCallback>(); }, nullptr, nullptr},
      {"tensorboard", nullptr, [] { return std::make_shared<TensorBoardCallback>(); }, nullptr, nullptr},
      {"codecarbon", nullptr, [] { return std::make_shared<CodeCarbonCallback>(); }, nullptr, nullptr},
      {"log_history", nullptr, [] { return std::make_shared<LogHistoryFileCallback>(); }, nullptr, nullptr},
      {"report", nullptr, [] { return std::make_shared<ReportCallback>(); }, nullptr, nullptr},
      // The MLflow family joins `all` only when a tracking URI says where runs go (else `all` would
      // leave an mlruns/ folder in the working directory); named, each works without one.
      {"mlflow", nullptr, make_mlflow_callback,
       [] { return !env_string("MLFLOW_TRACKING_URI").empty() && !env_flag("DISABLE_MLFLOW_INTEGRATION"); },
       mlflow_sender_for_journal},
      // The original adds azure_ml to `all` only when mlflow is not installed; mlflow always is here.
      {"azure_ml", nullptr, make_azureml_callback, [] { return false; }, mlflow_sender_for_journal},
      {"dagshub", nullptr, make_dagshub_callback, [] { return false; }, mlflow_sender_for_journal},
      {"wandb", nullptr, make_wandb_callback, wandb_in_all, wandb_sender_for_journal},
      {"comet_ml", nullptr, make_comet_callback, comet_in_all, comet_sender_for_journal},
      // Joins `all` only with TRACKIO_DIR (else `all` would write into ~/.cache/huggingface).
      {"clearml", nullptr, make_clearml_callback, clearml_in_all, clearml_sender_for_journal},
      {"trackio", nullptr, make_trackio_callback, trackio_in_all, nullptr},
      // Deprecated (the hosted service shut down on 2026-03-05): used only when named, as the original.
      // Inside a Flyte execution only (FLYTE_INTERNAL_EXECUTION_ID), as a task's runs elsewhere have nowhere to sync.
      {"flyte", nullptr, make_flyte_callback, flyte_in_all, flyte_sender_for_journal},
      {"neptune", nullptr, make_neptune_callback, [] { return false; }, nullptr},
  };
}

std::vector<Integration>& registry() {
  static std::vector<Integration> integrations = builtin_integrations();
  return integrations;
}

}  // namespace

void register_integration(Integration integration) { registry().push_back(std::move(integration)); }

const std::vector<Integration>& registered_integrations() { return registry(); }

std::vector<std::shared_ptr<TrainerCallback>> integration_callbacks(const std::vector<std::string>& report_to) {
  std::vector<std::shared_ptr<TrainerCallback>> out;
  if (report_to.empty() || (report_to.size() == 1 && report_to[0] == "none")) return out;
  if (report_to.size() == 1 && report_to[0] == "all") {
    for (const auto& i : registry())
      if ((!i.available || i.available()) && (!i.in_all || i.in_all())) out.push_back(i.make());
    return out;
  }
  std::vector<std::string> valid = {"none", "all"};
  for (const auto& i : registry()) valid.push_back(i.name);
  for (const auto& name : report_to) {
    const Integration* found = nullptr;
    for (const auto& i : registry())
      if (i.name == name) found = &i;
    if (!found) {
      std::string list;
      for (const auto& v : valid) list += (list.empty() ? "" : ", ") + v;
      std::string msg = "--report_to: '" + name + "' is not an available integration; valid: " + list;
      auto near = closest_match(name, valid);
      if (!near.empty() && near != name) msg += " (did you mean '" + near + "'?)";
      if (name == "none" || name == "all") msg = "--report_to: '" + name + "' cannot be combined with other names";
      throw ArgumentError(msg);
    }
    if (found->available && !found->available())
      throw ArgumentError("--report_to: integration '" + name + "' is not available on this machine");
    out.push_back(found->make());
  }
  return out;
}

std::unique_ptr<RecordSender> sender_for_journal(const std::filesystem::path& dir, const std::string& output_dir) {
  const std::filesystem::path meta = dir / "tracker.json";
  const std::string name = required_field<std::string>(read_json_file(meta), "tracker");
  for (const auto& i : registry())
    if (i.name == name && i.resend) return i.resend(dir, output_dir);
  throw std::runtime_error(meta.string() + ": '" + name + "' is not a remote tracker this program can send to");
}

}  // namespace trainer
