#include "trainer/net/http_client.h"

#include "trainer/core/text.h"
#include "trainer/net/digest.h"

#include <curl/curl.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <set>
#include <stdexcept>

#include "trainer/core/logging.h"

namespace trainer {
namespace {

// TLS alerts in which a server refuses this client's certificate, or its lack of one (mutual TLS).
constexpr const char* kClientCertificateRefusals[] = {"alert certificate required", "alert bad certificate",
                                                      "alert unknown ca",           "alert certificate unknown",
                                                      "alert certificate expired",  "alert certificate revoked"};

void global_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t on_body(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

size_t on_header(char* data, size_t size, size_t count, void* out) {
  const std::string line(data, size * count);
  auto* headers = static_cast<std::map<std::string, std::string>*>(out);
  if (line.rfind("HTTP/", 0) == 0) headers->clear();  // a new response (after a redirect or 100)
  const size_t colon = line.find(':');
  if (colon != std::string::npos)
    (*headers)[ascii_lower(trim_space(line.substr(0, colon)))] = trim_space(line.substr(colon + 1));
  return size * count;
}

int on_progress(void* aborted, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<std::atomic<bool>*>(aborted)->load() ? 1 : 0;
}

struct HeaderList {
  curl_slist* list = nullptr;
  void add(const std::string& line) { list = curl_slist_append(list, line.c_str()); }
  ~HeaderList() { curl_slist_free_all(list); }
};

struct UploadFile {
  std::FILE* file = nullptr;
  ~UploadFile() {
    if (file) std::fclose(file);
  }
};

// Once per setting that turned verification off (each service has its own).
void warn_insecure_once(const std::string& setting) {
  static std::mutex mutex;
  static std::set<std::string> warned;
  std::lock_guard<std::mutex> lock(mutex);
  if (!warned.insert(setting).second) return;
  log_warning("TLS certificate verification is OFF for a tracking server" +
              (setting.empty() ? std::string() : " (" + setting + ")") +
              ": insecure, anyone on the network can read and change what is sent; remove the setting to verify again");
}

// The CA bundle the services' Python clients would use when none is configured for the service.
std::string ca_bundle_from_environment() {
  for (const char* name : {"REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"})
    if (const char* value = std::getenv(name); value && *value) return value;
  return {};
}

void set_certificate_authorities(CURL* curl, const std::string& bundle) {
  if (bundle.empty()) return;
  std::error_code error;
  const bool folder = std::filesystem::is_directory(bundle, error);
  curl_easy_setopt(curl, folder ? CURLOPT_CAPATH : CURLOPT_CAINFO, bundle.c_str());
}

}  // namespace

std::optional<std::chrono::milliseconds> HttpResponse::retry_after() const {
  auto it = headers.find("retry-after");
  if (it == headers.end() || it->second.empty()) return std::nullopt;
  const std::string& v = it->second;
  bool digits = true;
  for (char c : v) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (digits && v.size() < 10) return std::chrono::seconds(std::stol(v));
  const time_t when = curl_getdate(v.c_str(), nullptr);
  if (when < 0) return std::nullopt;
  const time_t now = std::time(nullptr);
  return std::chrono::seconds(when > now ? when - now : 0);
}

HttpClient::HttpClient(HttpOptions options) : options_(std::move(options)) {
  global_init_once();
  handle_ = curl_easy_init();
  if (!handle_) throw std::runtime_error("libcurl could not create a handle");
  if (options_.insecure_skip_tls_verify) warn_insecure_once(options_.skip_verification_setting);
  if (options_.ca_bundle.empty()) options_.ca_bundle = ca_bundle_from_environment();
}

bool HttpClient::needs_configuration(int code, const char* detail) {
  const auto curl_code = static_cast<CURLcode>(code);
  if (curl_code == CURLE_PEER_FAILED_VERIFICATION || curl_code == CURLE_SSL_CACERT_BADFILE) return true;
  for (const char* refusal : kClientCertificateRefusals)
    if (std::strstr(detail, refusal)) return true;
  return false;
}

std::string HttpClient::describe_failure(int code, const char* detail) const {
  const auto curl_code = static_cast<CURLcode>(code);
  if (curl_code == CURLE_ABORTED_BY_CALLBACK) return "aborted";
  // libcurl's detail only for certificates and TLS alerts, where it says what to fix; for the
  // other failures its fixed text, which reads the same on every attempt (the detail adds timings).
  const bool certificate = curl_code == CURLE_PEER_FAILED_VERIFICATION || curl_code == CURLE_SSL_CACERT_BADFILE;
  const bool tls_alert = std::strstr(detail, " alert ") != nullptr;
  const std::string why = (certificate || tls_alert) && *detail ? detail : curl_easy_strerror(curl_code);
  for (const char* refusal : kClientCertificateRefusals)
    if (std::strstr(detail, refusal))
      return "the server asks for a TLS client certificate that it accepts (" + why + "): set " +
             (options_.client_certificate_setting.empty() ? std::string("a client certificate")
                                                          : options_.client_certificate_setting) +
             " to a PEM file with a certificate the server trusts and its key" +
             (options_.client_certificate.empty() ? " (none is set)"
                                                  : " (it refused '" + options_.client_certificate + "')");
  if (curl_code == CURLE_PEER_FAILED_VERIFICATION) {
    std::string fix = "the server's TLS certificate is not trusted (" + why + "): set " + options_.ca_bundle_setting +
                      " to the PEM file of the certificate authority that signed it";
    if (!options_.skip_verification_setting.empty())
      fix += ", or " + options_.skip_verification_setting + " to skip verification (insecure)";
    return fix;
  }
  if (curl_code == CURLE_SSL_CACERT_BADFILE)
    return "cannot read the certificate authorities in '" + options_.ca_bundle + "' (" + why + "): set " +
           options_.ca_bundle_setting + " to a readable PEM file";
  return why;
}

HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(handle_)); }

HttpResponse HttpClient::send(const HttpRequest& request) {
  HttpResponse response;
  if (aborted_.load()) {
    response.error = "aborted";
    return response;
  }
  CURL* curl = static_cast<CURL*>(handle_);
  curl_easy_reset(curl);  // keeps the connection cache, forgets the last request's options
  HeaderList headers;
  for (const auto& [name, value] : request.headers) headers.add(name + ": " + value);
  if (!options_.authorization.empty() && !request.without_authorization)
    headers.add("Authorization: " + options_.authorization);
  headers.add("Expect:");  // no 100-continue round trip before large bodies
  // A body is not a form unless the caller says so: without this libcurl labels every POSTFIELDS
  // body application/x-www-form-urlencoded, which servers then parse as one (moto's S3 stored a
  // part upload as empty) and S3 records as the object's type.
  bool typed = false;
  for (const auto& [name, value] : request.headers) typed = typed || ascii_lower(name) == "content-type";
  if (!typed) headers.add("Content-Type:");

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_FRESH_CONNECT, request.repeat == Repeat::harmful ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, options_.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");  // every encoding libcurl can decode
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, options_.insecure_skip_tls_verify ? 0L : 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, options_.insecure_skip_tls_verify ? 0L : 2L);
  set_certificate_authorities(curl, options_.ca_bundle);
  if (!options_.client_certificate.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLCERT, options_.client_certificate.c_str());
    curl_easy_setopt(curl, CURLOPT_SSLKEY, options_.client_certificate.c_str());
  }
  char detail[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, detail);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &aborted_);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response.headers);

  UploadFile upload;
  if (!request.body_file.empty()) {
    upload.file = std::fopen(request.body_file.c_str(), "rb");
    if (!upload.file) {
      response.error = "cannot read " + request.body_file;
      return response;
    }
    std::fseek(upload.file, 0, SEEK_END);
    const long size = std::ftell(upload.file);
    std::fseek(upload.file, 0, SEEK_SET);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READDATA, upload.file);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  } else if (request.method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    if (request.method != "POST") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }

  const CURLcode code = curl_easy_perform(curl);
  if (code != CURLE_OK) {
    response.error = describe_failure(code, detail);
    response.needs_configuration = needs_configuration(code, detail);
    response.headers.clear();
    response.body.clear();
    return response;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

std::string url_without_secrets(const std::string& url) {
  std::string out = url;
  const size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    const size_t host_start = scheme + 3;
    const size_t path = out.find_first_of("/?#", host_start);
    const size_t at = out.rfind('@', path == std::string::npos ? out.size() : path);
    if (at != std::string::npos && at >= host_start) out.erase(host_start, at + 1 - host_start);
  }
  const size_t query = out.find('?');
  if (query != std::string::npos) {
    std::string kept = out.substr(0, query + 1);
    size_t pos = query + 1;
    while (pos <= out.size()) {
      size_t end = out.find('&', pos);
      if (end == std::string::npos) end = out.size();
      const std::string pair = out.substr(pos, end - pos);
      const size_t eq = pair.find('=');
      kept += (kept.back() == '?' ? "" : "&") + (eq == std::string::npos ? pair : pair.substr(0, eq) + "=...");
      pos = end + 1;
    }
    out = kept;
  }
  return out;
}

std::string describe_request(const HttpRequest& request) {
  return request.method + " " + url_without_secrets(request.url);
}

std::string url_encode(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string url_encode_path(const std::string& path) {
  std::string out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (start > 0) out += '/';
    out += url_encode(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string basic_authorization(const std::string& user, const std::string& password) {
  return "Basic " + base64_encode(user + ":" + password);
}

}  // namespace trainer
