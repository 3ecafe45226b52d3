#include "trainer/integrations/wandb/wandb_settings.h"

#include "trainer/core/text.h"

#include <algorithm>
#include <cctype>

#include "trainer/core/argument_spec.h"
#include "trainer/core/environment.h"
#include "trainer/core/logging.h"
#include "trainer/net/http_client.h"

namespace trainer {
namespace {

WandbMode parse_mode(const std::string& value, bool have_key) {
  const std::string v = ascii_lower(value);
  if (v.empty() || v == "online" || v == "run") {
    if (!have_key && !v.empty())
      log_warning("WandbCallback: WANDB_MODE=" + value +
                  " but WANDB_API_KEY is not set; the run is written offline "
                  "(sync it later with `wandb sync`)");
    return have_key ? WandbMode::online : WandbMode::offline;
  }
  if (v == "offline" || v == "dryrun") return WandbMode::offline;
  if (v == "disabled") return WandbMode::disabled;
  throw ArgumentError("WANDB_MODE: '" + value + "' is not a mode; valid: online, offline, dryrun, disabled");
}

WandbLogModel parse_log_model(const std::string& value) {
  const std::string v = ascii_lower(value);
  if (v.empty() || v == "false") return WandbLogModel::none;
  if (v == "end") return WandbLogModel::end;
  if (v == "checkpoint") return WandbLogModel::checkpoint;
  if (v == "1" || v == "true" || v == "yes" || v == "on") {
    log_warning("WandbCallback: WANDB_LOG_MODEL=" + value +
                " is deprecated (as in the original); it means 'end'. "
                "Set WANDB_LOG_MODEL=end or checkpoint");
    return WandbLogModel::end;
  }
  log_warning("WandbCallback: WANDB_LOG_MODEL='" + value +
              "' is not one of end, checkpoint, false; no model is logged "
              "(as the original does)");
  return WandbLogModel::none;
}

WandbResume parse_resume(const std::string& value) {
  const std::string v = ascii_lower(value);
  if (v.empty()) return WandbResume::unset;
  if (v == "allow") return WandbResume::allow;
  if (v == "must") return WandbResume::must;
  if (v == "never" || v == "false") return WandbResume::never;
  if (v == "auto" || v == "true") return WandbResume::auto_;
  throw ArgumentError("WANDB_RESUME: '" + value + "' is not a resume mode; valid: allow, must, never, auto");
}

void check_run_id(const std::string& id) {
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'))
      throw ArgumentError("WANDB_RUN_ID: '" + id + "' may hold only letters, digits, '-' and '_' (W&B refuses '" +
                          std::string(1, c) + "')");
  if (id.size() > 128) throw ArgumentError("WANDB_RUN_ID: at most 128 characters, got " + std::to_string(id.size()));
}

std::string check_base_url(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
    throw ArgumentError("WANDB_BASE_URL: expected an http:// or https:// URL, got '" + url_without_secrets(url) + "'");
  return url;
}

void warn_about_watch() {
  const std::string watch = ascii_lower(env_string("WANDB_WATCH"));
  if (watch.empty() || watch == "false") return;
  if (watch == "gradients" || watch == "parameters" || watch == "all")
    log_warning("WandbCallback: WANDB_WATCH=" + watch +
                " is not supported: the tracker does not see the model's tensors "
                "(it logs what the Trainer logs); unset it to silence this warning");
  else
    log_warning("WandbCallback: WANDB_WATCH='" + watch + "' is not one of gradients, parameters, all, false; ignored");
}

}  // namespace

const char* to_string(WandbMode mode) {
  switch (mode) {
    case WandbMode::online: return "online";
    case WandbMode::offline: return "offline";
    case WandbMode::disabled: return "disabled";
  }
  return "offline";
}

WandbSettings WandbSettings::from_environment() {
  WandbSettings s;
  s.api_key = trim_space(env_string("WANDB_API_KEY"));
  s.mode = parse_mode(env_string("WANDB_MODE"), !s.api_key.empty());
  if (const std::string p = env_string("WANDB_PROJECT"); !p.empty()) s.project = p;
  s.entity = env_string("WANDB_ENTITY");
  if (const std::string u = env_string("WANDB_BASE_URL"); !u.empty()) s.base_url = check_base_url(u);
  s.root_dir = env_string("WANDB_DIR");
  s.run_id = env_string("WANDB_RUN_ID");
  check_run_id(s.run_id);
  s.group = env_string("WANDB_RUN_GROUP");
  s.name = env_string("WANDB_NAME");
  s.notes = env_string("WANDB_NOTES");
  s.job_type = env_string("WANDB_JOB_TYPE");
  const std::string tags = env_string("WANDB_TAGS");
  for (size_t start = 0; start <= tags.size() && !tags.empty();) {
    const size_t comma = std::min(tags.find(',', start), tags.size());
    if (const std::string t = trim_space(tags.substr(start, comma - start)); !t.empty()) s.tags.push_back(t);
    start = comma + 1;
  }
  s.resume = parse_resume(env_string("WANDB_RESUME"));
  s.log_model = parse_log_model(env_string("WANDB_LOG_MODEL"));
  s.insecure_tls = env_flag("WANDB_INSECURE_DISABLE_SSL");
  s.request_timeout = parse_seconds_setting("WANDB_HTTP_TIMEOUT", env_string("WANDB_HTTP_TIMEOUT"), s.request_timeout);
  warn_about_watch();
  return s;
}

std::string WandbSettings::authorization() const { return api_key.empty() ? "" : basic_authorization("api", api_key); }

Json WandbSettings::to_journal_json() const {
  return Json{{"base_url", base_url},
              {"project", project},
              {"entity", entity},
              {"insecure_tls", insecure_tls},
              {"request_timeout_ms", request_timeout.count()}};
}

WandbSettings WandbSettings::from_journal_json(const Json& json) {
  WandbSettings s;
  s.mode = WandbMode::online;
  // An offline run is often synced somewhere its process did not know: WANDB_BASE_URL then wins.
  const std::string url = env_string("WANDB_BASE_URL");
  s.base_url = url.empty() ? field_or<std::string>(json, "base_url", s.base_url) : check_base_url(url);
  s.project = field_or<std::string>(json, "project", s.project);
  s.entity = field_or<std::string>(json, "entity", "");
  s.insecure_tls = field_or<bool>(json, "insecure_tls", false);
  s.request_timeout =
      std::chrono::milliseconds(field_or<int64_t>(json, "request_timeout_ms", kDefaultRequestTimeout.count()));
  s.api_key = trim_space(env_string("WANDB_API_KEY"));
  return s;
}

HttpOptions WandbSettings::http_options() const {
  HttpOptions o;
  o.authorization = authorization();
  o.insecure_skip_tls_verify = insecure_tls;
  o.skip_verification_setting = "WANDB_INSECURE_DISABLE_SSL=true";
  o.request_timeout = request_timeout;
  return o;
}

}  // namespace trainer
