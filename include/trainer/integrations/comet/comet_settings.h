#pragma once
// What CometCallback reads from the environment, parsed once when
// the callback is created, so a bad value stops the run before training with a message that names
// the variable (exit status 2).

#include <chrono>
#include <string>

#include "trainer/core/json.h"
#include "trainer/net/http_client.h"

namespace trainer {

enum class CometMode { get, get_or_create, create, disabled };

struct CometSettings {
  CometMode mode = CometMode::get_or_create;  // COMET_MODE
  bool online = true;                         // COMET_START_ONLINE (0/false: offline) and an API key
  std::string project = "general";            // COMET_PROJECT_NAME (Comet's default project)
  std::string workspace;                      // COMET_WORKSPACE ("": the key's default workspace)
  std::string experiment_key;                 // COMET_EXPERIMENT_KEY: log into this experiment (get, get_or_create)
  std::string offline_directory = ".cometml-runs";            // COMET_OFFLINE_DIRECTORY
  std::string api_url = "https://www.comet.com/api/rest/v2";  // from COMET_URL_OVERRIDE's scheme and host
  bool log_assets = false;                                    // COMET_LOG_ASSETS
  std::chrono::milliseconds request_timeout = kDefaultRequestTimeout;
  std::string api_key;  // COMET_API_KEY: a secret, only ever in the Authorization header

  // Throws ArgumentError naming the variable.
  static CometSettings from_environment();
  // What a later `trainer sync` needs to reach the same server (no secrets).
  Json to_journal_json() const;
  static CometSettings from_journal_json(const Json& json);  // + COMET_API_KEY (and COMET_URL_OVERRIDE)
  // The connection to the service: timeouts, TLS and credentials, as every request uses them.
  HttpOptions http_options() const;
};

// The REST API's base for COMET_URL_OVERRIDE ("https://comet.example.com/clientlib/" ->
// "https://comet.example.com/api/rest/v2"). Throws ArgumentError when it is not an http(s) URL.
std::string comet_api_url(const std::string& url_override);

}  // namespace trainer
