#pragma once
// What ClearMLCallback reads, once, in one place: the callback's
// variables, the SDK's, and the `api` section of ~/clearml.conf (CLEARML_CONFIG_FILE elsewhere),
// the environment winning over the file. Errors name the variable, or the file and line.

#include <chrono>
#include <filesystem>
#include <map>
#include <string>

#include "trainer/core/json.h"
#include "trainer/net/http_client.h"

namespace trainer {

struct ClearMLSettings {
  std::string project = "HuggingFace Transformers";  // CLEARML_PROJECT
  std::string task = "Trainer";                      // CLEARML_TASK
  bool log_model = true;                             // CLEARML_LOG_MODEL (true: the callback creates the task)
  bool log_model_given = false;                      // CLEARML_LOG_MODEL was set
  std::string api_host = "https://api.clear.ml";     // CLEARML_API_HOST, api.api_server
  std::string files_host;                            // CLEARML_FILES_HOST, api.files_server
  std::string access_key, secret_key;                // CLEARML_API_ACCESS_KEY/_SECRET_KEY, api.credentials.*: secrets
  std::string auth_token;                            // CLEARML_AUTH_TOKEN: a secret
  bool offline = false;                              // CLEARML_OFFLINE_MODE
  bool verify_cert = true;                           // CLEARML_API_HOST_VERIFY_CERT, api.verify_certificate
  std::filesystem::path cache_dir;  // CLEARML_CACHE_DIR, sdk.storage.cache.default_base_dir, <tmp>/clearml_cache
  std::chrono::milliseconds request_timeout = kDefaultRequestTimeout;

  // Throws ArgumentError naming the variable, or the file and line of clearml.conf.
  static ClearMLSettings from_environment();
  Json to_journal_json() const;                                // what `trainer sync` needs, without the credentials
  static ClearMLSettings from_journal_json(const Json& json);  // + the credentials of the environment
  bool has_credentials() const { return !auth_token.empty() || (!access_key.empty() && !secret_key.empty()); }
  // The connection to the service: timeouts, TLS and credentials, as every request uses them.
  HttpOptions http_options() const;
};

// The values of a clearml.conf (the HOCON its users write: nested `name { ... }` blocks, `key: value`
// or `key = value`, dotted keys, quoted strings, # and // comments) as dotted names
// ("api.credentials.access_key"). Throws ArgumentError "<file>:<line>: <problem>".
std::map<std::string, std::string> read_clearml_conf(const std::filesystem::path& file);

}  // namespace trainer
