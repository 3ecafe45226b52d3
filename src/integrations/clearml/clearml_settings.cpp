#include "trainer/integrations/clearml/clearml_settings.h"

#include <fstream>
#include <vector>

#include "trainer/core/argument_spec.h"
#include "trainer/core/environment.h"
#include "trainer/core/text.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

std::string unquote(std::string v) {
  v = trim_space(v);
  if (!v.empty() && v.back() == ',') v = trim_space(v.substr(0, v.size() - 1));
  if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
    return v.substr(1, v.size() - 2);
  return v;
}

// A comment starts at # or // outside quotes.
std::string without_comment(const std::string& line) {
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '#' || (c == '/' && i + 1 < line.size() && line[i + 1] == '/' && (i == 0 || line[i - 1] != ':'))) {
      return line.substr(0, i);
    }
  }
  return line;
}

fs::path config_file() {
  const std::string named = env_string("CLEARML_CONFIG_FILE");
  if (!named.empty()) return named;
  const std::string home = env_string("HOME");
  return fs::path(home.empty() ? "." : home) / "clearml.conf";
}

std::string first_of(const std::map<std::string, std::string>& conf, std::initializer_list<const char*> keys,
                     std::string fallback) {
  for (const char* k : keys)
    if (auto it = conf.find(k); it != conf.end()) return it->second;
  return fallback;
}

std::string env_or(const char* name, const char* legacy, const std::string& fallback) {
  std::string v = env_string(name);
  if (v.empty() && legacy) v = env_string(legacy);
  return v.empty() ? fallback : trim_space(v);
}

void check_url(const std::string& name, const std::string& url) {
  if (!url.empty() && url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0)
    throw ArgumentError(name + ": '" + url + "' is not an http:// or https:// URL");
}

}  // namespace

std::map<std::string, std::string> read_clearml_conf(const fs::path& file) {
  std::map<std::string, std::string> out;
  std::ifstream in(file);
  if (!in) return out;
  std::vector<std::string> scope;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::string text = trim_space(without_comment(line));
    auto where = [&] { return file.string() + ":" + std::to_string(number) + ": "; };
    while (!text.empty()) {
      if (text[0] == '}') {
        if (scope.empty()) throw ArgumentError(where() + "'}' closes no block");
        scope.pop_back();
        text = trim_space(text.substr(1));
        if (!text.empty() && text[0] == ',') text = trim_space(text.substr(1));
        continue;
      }
      const size_t sep = text.find_first_of(":={");
      if (sep == std::string::npos)
        throw ArgumentError(where() + "expected 'key: value' or 'name {', got '" + trim_space(line) + "'");
      std::string key = unquote(text.substr(0, sep));
      if (key.empty()) throw ArgumentError(where() + "a value without a key");
      std::string prefix;
      for (const auto& s : scope) prefix += s + ".";
      std::string rest = trim_space(text.substr(sep + (text[sep] == '{' ? 0 : 1)));
      if (!rest.empty() && rest[0] == '{') {  // name {   or   name: {
        scope.push_back(key);
        text = trim_space(rest.substr(1));
        continue;
      }
      if (rest.empty()) throw ArgumentError(where() + "'" + key + "' has no value");
      size_t end;  // the value ends at its closing quote, or at ',' or '}' (several on one line)
      if (rest[0] == '"' || rest[0] == '\'') {
        end = rest.find(rest[0], 1);
        if (end == std::string::npos) throw ArgumentError(where() + "the value of '" + key + "' has no closing quote");
        out[prefix + key] = rest.substr(1, end - 1);
        ++end;
      } else {
        end = std::min(rest.find(','), rest.find('}'));
        out[prefix + key] = unquote(rest.substr(0, end));
      }
      text = end >= rest.size() ? "" : trim_space(rest.substr(end));
      if (!text.empty() && text[0] == ',') text = trim_space(text.substr(1));
    }
  }
  if (!scope.empty())
    throw ArgumentError(file.string() + ": the block '" + scope.back() + "' is never closed with '}'");
  return out;
}

ClearMLSettings ClearMLSettings::from_environment() {
  ClearMLSettings s;
  const auto conf = read_clearml_conf(config_file());
  s.project = env_or("CLEARML_PROJECT", nullptr, s.project);
  s.task = env_or("CLEARML_TASK", nullptr, s.task);
  const std::string log_model = env_string("CLEARML_LOG_MODEL");
  s.log_model_given = !log_model.empty();
  if (s.log_model_given) s.log_model = parse_bool_setting("CLEARML_LOG_MODEL", log_model, true);
  s.api_host = env_or("CLEARML_API_HOST", "TRAINS_API_HOST", first_of(conf, {"api.api_server"}, s.api_host));
  s.files_host = env_or("CLEARML_FILES_HOST", "TRAINS_FILES_HOST", first_of(conf, {"api.files_server"}, ""));
  while (!s.api_host.empty() && s.api_host.back() == '/') s.api_host.pop_back();
  check_url("CLEARML_API_HOST", s.api_host);
  check_url("CLEARML_FILES_HOST", s.files_host);
  s.access_key =
      env_or("CLEARML_API_ACCESS_KEY", "TRAINS_API_ACCESS_KEY", first_of(conf, {"api.credentials.access_key"}, ""));
  s.secret_key =
      env_or("CLEARML_API_SECRET_KEY", "TRAINS_API_SECRET_KEY", first_of(conf, {"api.credentials.secret_key"}, ""));
  s.auth_token = env_or("CLEARML_AUTH_TOKEN", nullptr, "");
  if (s.access_key.empty() != s.secret_key.empty())
    throw ArgumentError(std::string("ClearML: CLEARML_API_ACCESS_KEY and CLEARML_API_SECRET_KEY go together (or "
                                    "api.credentials in clearml.conf): ") +
                        (s.access_key.empty() ? "the access key" : "the secret key") + " is missing");
  s.offline = parse_bool_setting("CLEARML_OFFLINE_MODE", env_string("CLEARML_OFFLINE_MODE"), false);
  const std::string verify =
      env_or("CLEARML_API_HOST_VERIFY_CERT", nullptr, first_of(conf, {"api.verify_certificate"}, "true"));
  s.verify_cert = parse_bool_setting("CLEARML_API_HOST_VERIFY_CERT", verify, true);
  const std::string cache =
      env_or("CLEARML_CACHE_DIR", "TRAINS_CACHE_DIR", first_of(conf, {"sdk.storage.cache.default_base_dir"}, ""));
  s.cache_dir = cache.empty() ? fs::temp_directory_path() / "clearml_cache" : fs::path(cache);
  return s;
}

Json ClearMLSettings::to_journal_json() const {
  return Json{{"project", project},         {"task", task},
              {"api_host", api_host},       {"files_host", files_host},
              {"verify_cert", verify_cert}, {"request_timeout_ms", request_timeout.count()}};
}

ClearMLSettings ClearMLSettings::from_journal_json(const Json& json) {
  ClearMLSettings s = from_environment();  // the credentials, as they are now
  s.project = field_or<std::string>(json, "project", s.project);
  s.task = field_or<std::string>(json, "task", s.task);
  s.api_host = field_or<std::string>(json, "api_host", s.api_host);
  s.files_host = field_or<std::string>(json, "files_host", s.files_host);
  s.verify_cert = field_or<bool>(json, "verify_cert", s.verify_cert);
  s.request_timeout =
      std::chrono::milliseconds(field_or<int64_t>(json, "request_timeout_ms", kDefaultRequestTimeout.count()));
  return s;
}

HttpOptions ClearMLSettings::http_options() const {
  HttpOptions o;
  o.request_timeout = request_timeout;
  o.insecure_skip_tls_verify = !verify_cert;
  o.skip_verification_setting = "CLEARML_API_HOST_VERIFY_CERT=false";
  return o;
}

}  // namespace trainer
