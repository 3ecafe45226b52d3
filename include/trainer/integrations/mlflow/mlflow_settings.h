#pragma once
// What MLflowCallback reads from the environment, parsed once
// when the callback is created, so a bad value stops the run before training with a message that
// names the variable (exit status 2).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "trainer/core/environment.h"
#include "trainer/core/json.h"
#include "trainer/net/http_client.h"

namespace trainer {

enum class MlflowStoreKind { rest, file };

struct MlflowSettings {
  std::string tracking_uri;  // http(s)://... (REST) or the file store's root as a file: URI or path
  MlflowStoreKind store = MlflowStoreKind::file;
  bool azureml = false;                   // an azureml:// URI, rewritten to https://
  std::string experiment_name;            // MLFLOW_EXPERIMENT_NAME
  std::string experiment_id;              // MLFLOW_EXPERIMENT_ID
  Json tags = Json::object();             // MLFLOW_TAGS (a JSON object)
  bool nested = false;                    // MLFLOW_NESTED_RUN: a child of MLFLOW_RUN_ID's run
  std::string run_id;                     // MLFLOW_RUN_ID: log into this existing run
  bool flatten_params = false;            // MLFLOW_FLATTEN_PARAMS
  std::optional<int64_t> max_log_params;  // MLFLOW_MAX_LOG_PARAMS
  bool log_artifacts = false;             // HF_MLFLOW_LOG_ARTIFACTS: checkpoints as artifacts
  bool insecure_tls = false;              // MLFLOW_TRACKING_INSECURE_TLS=true
  std::string server_cert_path;           // MLFLOW_TRACKING_SERVER_CERT_PATH (default: REQUESTS_CA_BUNDLE, ...)
  std::string client_cert_path;           // MLFLOW_TRACKING_CLIENT_CERT_PATH: this client's certificate and key (PEM)
  std::chrono::milliseconds request_timeout = kDefaultRequestTimeout;  // MLFLOW_HTTP_REQUEST_TIMEOUT (seconds)
  // Secrets: only ever put in the Authorization header, never in a file or a message.
  std::string username, password, token;

  // `callback` names the integration in messages. Throws ArgumentError naming the variable.
  static MlflowSettings from_environment(const std::string& callback = "MLflowCallback");
  // The HTTP transport these settings give: the request timeout, TLS (CA bundle, client
  // certificate, verification, and the variables that fix a refused certificate) and the
  // Authorization header.
  HttpOptions http_options() const;

  std::filesystem::path file_store_root() const;
  std::string authorization() const;  // "" when no credentials
  // The settings a later `trainer sync` needs to reach the same server (no secrets).
  Json to_journal_json() const;
  static MlflowSettings from_journal_json(const Json& json);  // + the credentials of the environment
};

}  // namespace trainer
