#include "trainer/integrations/mlflow/mlflow_settings.h"

#include <cctype>
#include <cstdlib>
#include <fstream>

#include "trainer/core/argument_spec.h"
#include "trainer/core/paths.h"
#include "trainer/net/http_client.h"

namespace trainer {
namespace {

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// ~/.mlflow/credentials, section [mlflow]: mlflow_tracking_username / mlflow_tracking_password.
void read_credentials_file(MlflowSettings& s) {
  const char* home = std::getenv("HOME");
  if (!home) return;
  std::ifstream in(std::filesystem::path(home) / ".mlflow" / "credentials");
  std::string line, section;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() > 2 && line.front() == '[' && line.back() == ']') {
      section = line.substr(1, line.size() - 2);
      continue;
    }
    const size_t eq = line.find('=');
    if (section != "mlflow" || eq == std::string::npos) continue;
    auto trim = [](std::string v) {
      while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
      while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.erase(v.begin());
      return v;
    };
    const std::string key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    if (key == "mlflow_tracking_username" && s.username.empty()) s.username = value;
    if (key == "mlflow_tracking_password" && s.password.empty()) s.password = value;
  }
}

void resolve_store(MlflowSettings& s, const std::string& callback) {
  const std::string& uri = s.tracking_uri;
  if (uri.empty() || uri.rfind("file:", 0) == 0 || uri.find("://") == std::string::npos) {
    s.store = MlflowStoreKind::file;
    return;
  }
  // AzureML's workspace URI: the same MLflow REST API over https (what the azureml-mlflow plugin does).
  if (uri.rfind("azureml://", 0) == 0) {
    s.tracking_uri = "https://" + uri.substr(10);
    s.azureml = true;
  }
  if (s.tracking_uri.rfind("http://", 0) == 0 || s.tracking_uri.rfind("https://", 0) == 0) {
    s.store = MlflowStoreKind::rest;
    while (!s.tracking_uri.empty() && s.tracking_uri.back() == '/') s.tracking_uri.pop_back();
    return;
  }
  throw ArgumentError(callback + ": MLFLOW_TRACKING_URI '" + url_without_secrets(uri) +
                      "' is not supported: use an http(s):// tracking server (e.g. `mlflow server "
                      "--backend-store-uri sqlite:///mlflow.db`, then MLFLOW_TRACKING_URI=http://127.0.0.1:5000), "
                      "or a file: URI / directory for a local mlruns/ store");
}

void credentials_from_environment(MlflowSettings& s, const std::string& callback) {
  s.username = env_string("MLFLOW_TRACKING_USERNAME");
  s.password = env_string("MLFLOW_TRACKING_PASSWORD");
  s.token = env_string("MLFLOW_TRACKING_TOKEN");
  // Inside an AzureML job the platform injects the run's token.
  if (s.token.empty() && s.azureml) s.token = env_string("AZUREML_RUN_TOKEN");
  read_credentials_file(s);
  s.insecure_tls = upper(env_string("MLFLOW_TRACKING_INSECURE_TLS")) == "TRUE";
  s.server_cert_path = env_string("MLFLOW_TRACKING_SERVER_CERT_PATH");
  s.client_cert_path = env_string("MLFLOW_TRACKING_CLIENT_CERT_PATH");
  // MLflow's own client refuses the pair: a CA bundle that is then not used would only mislead.
  if (s.insecure_tls && !s.server_cert_path.empty())
    throw ArgumentError(callback +
                        ": MLFLOW_TRACKING_INSECURE_TLS=true and MLFLOW_TRACKING_SERVER_CERT_PATH cannot both be "
                        "set: keep the certificate path (verification on) or the insecure setting, not both");
}

}  // namespace

MlflowSettings MlflowSettings::from_environment(const std::string& callback) {
  MlflowSettings s;
  s.tracking_uri = env_string("MLFLOW_TRACKING_URI");
  resolve_store(s, callback);
  s.experiment_name = env_string("MLFLOW_EXPERIMENT_NAME");
  s.experiment_id = env_string("MLFLOW_EXPERIMENT_ID");
  if (const std::string tags = env_string("MLFLOW_TAGS"); !tags.empty()) {
    try {
      s.tags = Json::parse(tags);
    } catch (const std::exception& e) {
      throw ArgumentError(callback +
                          ": MLFLOW_TAGS must be a JSON object such as '{\"team\": \"vision\"}': " + e.what());
    }
    if (!s.tags.is_object())
      throw ArgumentError(callback + ": MLFLOW_TAGS must be a JSON object such as '{\"team\": \"vision\"}', got " +
                          tags);
  }
  s.nested = env_flag("MLFLOW_NESTED_RUN");
  s.run_id = env_string("MLFLOW_RUN_ID");
  s.flatten_params = env_flag("MLFLOW_FLATTEN_PARAMS");
  if (const std::string max = env_string("MLFLOW_MAX_LOG_PARAMS"); !max.empty()) {
    size_t used = 0;
    long long n = -1;
    try {
      n = std::stoll(max, &used);
    } catch (const std::exception&) {}
    if (used != max.size() || n < 0)
      throw ArgumentError(callback + ": MLFLOW_MAX_LOG_PARAMS must be a whole number >= 0, got '" + max + "'");
    s.max_log_params = n;
  }
  s.log_artifacts = env_flag("HF_MLFLOW_LOG_ARTIFACTS");
  s.request_timeout = parse_seconds_setting("MLFLOW_HTTP_REQUEST_TIMEOUT", env_string("MLFLOW_HTTP_REQUEST_TIMEOUT"),
                                            s.request_timeout);
  credentials_from_environment(s, callback);
  return s;
}

std::filesystem::path MlflowSettings::file_store_root() const {
  std::string path = tracking_uri;
  if (path.rfind("file://", 0) == 0)
    path = path.substr(7);
  else if (path.rfind("file:", 0) == 0)
    path = path.substr(5);
  if (path.empty()) path = "mlruns";
  return std::filesystem::absolute(expand_user(path)).lexically_normal();
}

std::string MlflowSettings::authorization() const {
  if (!username.empty() || !password.empty()) return basic_authorization(username, password);
  if (!token.empty()) return "Bearer " + token;
  return "";
}

Json MlflowSettings::to_journal_json() const {
  return Json{{"tracking_uri", store == MlflowStoreKind::file ? "file://" + file_store_root().string() : tracking_uri},
              {"experiment_name", experiment_name},
              {"experiment_id", experiment_id}};
}

HttpOptions MlflowSettings::http_options() const {
  HttpOptions o;
  o.request_timeout = request_timeout;
  o.insecure_skip_tls_verify = insecure_tls;
  o.skip_verification_setting = "MLFLOW_TRACKING_INSECURE_TLS=true";
  o.ca_bundle = server_cert_path;
  o.ca_bundle_setting = "MLFLOW_TRACKING_SERVER_CERT_PATH";
  o.client_certificate = client_cert_path;
  o.client_certificate_setting = "MLFLOW_TRACKING_CLIENT_CERT_PATH";
  o.authorization = authorization();
  return o;
}

MlflowSettings MlflowSettings::from_journal_json(const Json& json) {
  MlflowSettings s;
  s.tracking_uri = field_or<std::string>(json, "tracking_uri", "");
  resolve_store(s, "trainer sync");
  s.experiment_name = field_or<std::string>(json, "experiment_name", "");
  s.experiment_id = field_or<std::string>(json, "experiment_id", "");
  credentials_from_environment(s, "trainer sync");
  return s;
}

}  // namespace trainer
