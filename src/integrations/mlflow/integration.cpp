// The MLflow family (`--report_to mlflow`, `azure_ml`, `dagshub`), declared once for the registry
// (registry.h). They share the tracker and the journal format, so one sender resends all three.
#include "trainer/core/environment.h"
#include "trainer/integrations/mlflow/mlflow_tracker.h"
#include "trainer/integrations/registry.h"
#include "trainer/tracking/record_sender.h"

namespace trainer {

std::vector<Integration> mlflow_integrations() {
  Integration mlflow;
  mlflow.name = "mlflow";
  mlflow.make = make_mlflow_callback;
  // Joins `all` only when a tracking URI says where runs go (else `all` would leave an mlruns/
  // folder in the working directory); named, it works without one.
  mlflow.in_all = [] { return !env_string("MLFLOW_TRACKING_URI").empty() && !env_flag("DISABLE_MLFLOW_INTEGRATION"); };
  mlflow.resend = mlflow_sender_for_journal;
  mlflow.summary = "an MLflow run on a tracking server (REST) or in a local mlruns/ store";
  mlflow.settings =
      "MLFLOW_TRACKING_URI, MLFLOW_EXPERIMENT_NAME, MLFLOW_RUN_ID, MLFLOW_TRACKING_USERNAME/PASSWORD/TOKEN, "
      "MLFLOW_TAGS, MLFLOW_FLATTEN_PARAMS, HF_MLFLOW_LOG_ARTIFACTS, MLFLOW_HTTP_REQUEST_TIMEOUT";
  mlflow.position = 60;

  Integration azure = mlflow;
  azure.name = "azure_ml";
  azure.make = make_azureml_callback;
  azure.in_all = [] { return false; };  // the original adds it to `all` only without mlflow, which is always here
  azure.summary = "an AzureML run through the workspace's MLflow tracking URI (azureml://)";
  azure.settings = "MLFLOW_TRACKING_URI, AZUREML_RUN_TOKEN";
  azure.position = 61;

  Integration dagshub = mlflow;
  dagshub.name = "dagshub";
  dagshub.make = make_dagshub_callback;
  dagshub.in_all = [] { return false; };
  dagshub.summary = "a DagsHub repository's MLflow server, and the model committed to the repository";
  dagshub.settings = "MLFLOW_TRACKING_URI, DAGSHUB_USER_TOKEN, HF_DAGSHUB_LOG_ARTIFACTS, BRANCH";
  dagshub.position = 62;
  return {mlflow, azure, dagshub};
}

}  // namespace trainer
