#pragma once
// What WandbCallback reads from the environment, parsed once
// when the callback is created, so a bad value stops the run before training with a message that
// names the variable (exit status 2).

#include <chrono>
#include <string>
#include <vector>

#include "trainer/core/json.h"
#include "trainer/net/http_client.h"

namespace trainer {

enum class WandbMode { online, offline, disabled };
enum class WandbLogModel { none, end, checkpoint };  // WANDB_LOG_MODEL false | end | checkpoint
enum class WandbResume { unset, allow, must, never, auto_ };

struct WandbSettings {
  WandbMode mode = WandbMode::offline;            // WANDB_MODE; online needs an API key, else offline
  std::string project = "huggingface";            // WANDB_PROJECT
  std::string entity;                             // WANDB_ENTITY ("": the key's default entity)
  std::string base_url = "https://api.wandb.ai";  // WANDB_BASE_URL, no trailing '/'
  std::string root_dir;                           // WANDB_DIR ("": the working directory)
  std::string run_id;                             // WANDB_RUN_ID ("": 8 random characters)
  std::string group, name, notes, job_type;       // WANDB_RUN_GROUP, WANDB_NAME, WANDB_NOTES, WANDB_JOB_TYPE
  std::vector<std::string> tags;                  // WANDB_TAGS, comma-separated
  WandbResume resume = WandbResume::unset;        // WANDB_RESUME
  WandbLogModel log_model = WandbLogModel::none;
  bool insecure_tls = false;  // WANDB_INSECURE_DISABLE_SSL (self-hosted test servers)
  std::chrono::milliseconds request_timeout = kDefaultRequestTimeout;  // WANDB_HTTP_TIMEOUT (seconds)
  std::string api_key;  // WANDB_API_KEY: a secret, only ever in the Authorization header

  // Throws ArgumentError naming the variable; warns (once, here) about WANDB_WATCH and a legacy
  // WANDB_LOG_MODEL.
  static WandbSettings from_environment();

  std::string authorization() const;  // Basic base64("api:" + key)
  // What a later `trainer sync` needs to reach the same server (no secrets).
  Json to_journal_json() const;
  static WandbSettings from_journal_json(const Json& json);  // + WANDB_API_KEY (and WANDB_BASE_URL) of the environment
  // The connection to the service: timeouts, TLS and credentials, as every request uses them.
  HttpOptions http_options() const;
};

const char* to_string(WandbMode mode);

}  // namespace trainer
