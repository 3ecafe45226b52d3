#include "trainer/integrations/comet/comet_settings.h"

#include "trainer/core/text.h"

#include <cctype>

#include "trainer/core/argument_spec.h"
#include "trainer/core/environment.h"
#include "trainer/net/http_client.h"

namespace trainer {
namespace {

// v5's get, get_or_create and create; 4.x's online/offline and DISABLED are still understood.
CometMode parse_mode(const std::string& value, bool& online) {
  const std::string v = ascii_lower(value);
  if (v.empty() || v == "get_or_create") return CometMode::get_or_create;
  if (v == "get") return CometMode::get;
  if (v == "create") return CometMode::create;
  if (v == "online") return CometMode::get_or_create;
  if (v == "offline") {
    online = false;
    return CometMode::get_or_create;
  }
  if (v == "disabled") return CometMode::disabled;
  throw ArgumentError("COMET_MODE: '" + value +
                      "' is not a mode; valid: get, get_or_create, create (and 4.x's online, "
                      "offline, disabled)");
}

}  // namespace

std::string comet_api_url(const std::string& url_override) {
  const size_t scheme = url_override.find("://");
  const std::string s = ascii_lower(url_override.substr(0, scheme == std::string::npos ? 0 : scheme));
  if (scheme == std::string::npos || (s != "http" && s != "https"))
    throw ArgumentError("COMET_URL_OVERRIDE: expected an http:// or https:// URL, got '" +
                        url_without_secrets(url_override) + "'");
  const size_t path = url_override.find('/', scheme + 3);
  return url_override.substr(0, path) + "/api/rest/v2";
}

CometSettings CometSettings::from_environment() {
  CometSettings s;
  s.mode = parse_mode(env_string("COMET_MODE"), s.online);
  s.online = s.online && parse_bool_setting("COMET_START_ONLINE", env_string("COMET_START_ONLINE"), true);
  s.api_key = env_string("COMET_API_KEY");
  if (s.api_key.empty()) s.online = false;
  if (const std::string p = env_string("COMET_PROJECT_NAME"); !p.empty()) s.project = p;
  s.workspace = env_string("COMET_WORKSPACE");
  s.experiment_key = env_string("COMET_EXPERIMENT_KEY");
  if (s.mode == CometMode::get && s.experiment_key.empty())
    throw ArgumentError("COMET_MODE=get: needs COMET_EXPERIMENT_KEY, the key of the experiment to log into");
  for (char c : s.experiment_key)
    if (!std::isalnum(static_cast<unsigned char>(c)))
      throw ArgumentError("COMET_EXPERIMENT_KEY: only letters and digits, got '" + s.experiment_key + "'");
  if (const std::string d = env_string("COMET_OFFLINE_DIRECTORY"); !d.empty()) s.offline_directory = d;
  if (const std::string u = env_string("COMET_URL_OVERRIDE"); !u.empty()) s.api_url = comet_api_url(u);
  s.log_assets = env_flag("COMET_LOG_ASSETS");
  return s;
}

Json CometSettings::to_journal_json() const {
  return Json{{"api_url", api_url}, {"request_timeout_ms", request_timeout.count()}};
}

CometSettings CometSettings::from_journal_json(const Json& json) {
  CometSettings s;
  const std::string u = env_string("COMET_URL_OVERRIDE");
  s.api_url = u.empty() ? field_or<std::string>(json, "api_url", s.api_url) : comet_api_url(u);
  s.request_timeout =
      std::chrono::milliseconds(field_or<int64_t>(json, "request_timeout_ms", kDefaultRequestTimeout.count()));
  s.api_key = env_string("COMET_API_KEY");
  return s;
}

HttpOptions CometSettings::http_options() const {
  HttpOptions o;
  o.authorization = api_key;  // the raw key, no scheme
  o.request_timeout = request_timeout;
  return o;
}

}  // namespace trainer
