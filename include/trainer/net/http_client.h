#pragma once
// HttpClient: the project's one HTTP client (libcurl), used by every remote tracker.
//   - one connection kept alive per client (a tracker's sender thread owns one client)
//   - TLS certificates verified unless HttpOptions::insecure_skip_tls_verify (which logs once that
//     it is insecure); the standard proxy variables (https_proxy, HTTPS_PROXY, no_proxy, ...) apply,
//     as libcurl reads them
//   - responses in gzip or deflate are accepted and decoded
//   - a connect timeout and a whole-request timeout; set_aborted() makes a request in flight return at once
//   - the Authorization header is set from HttpOptions::authorization and never appears in an error;
//     describe() of a request prints the method and the URL without user-info or query values
// A transport failure (refused, reset, timeout, DNS, a certificate not trusted) is a response with
// status 0 and `error` set: send() itself never throws for the network. An untrusted certificate's
// error says why (libcurl's detail) and names HttpOptions' settings that fix it.

#include <atomic>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace trainer {

// Whether a request may reach the server twice. libcurl sends a request again, on a new
// connection, when the kept-alive connection it used fails before any answer: right when the
// server had closed an idle connection, wrong when the server handled the request and the answer
// was lost (a create would then be made twice). A request whose repeat is harmful goes on a fresh
// connection, which libcurl never re-sends on; the caller decides what a failure means.
enum class Repeat { harmless, harmful };

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Authorization
  std::string body;
  std::string body_file;               // non-empty: the body is streamed from this file (PUT uploads)
  bool without_authorization = false;  // a signed upload URL, often another host: the credentials stay home
  Repeat repeat = Repeat::harmless;
};

struct HttpResponse {
  long status = 0;    // 0: no HTTP exchange (see error)
  std::string error;  // the transport failure, empty when status > 0
  // The failure is this client's TLS configuration (the server's certificate not trusted, a client
  // certificate refused, an unreadable CA file): no retry gets through until a setting changes.
  bool needs_configuration = false;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;

  bool ok() const { return status >= 200 && status < 300; }
  // The Retry-After header as a delay (seconds, or an HTTP date), when present and parseable.
  std::optional<std::chrono::milliseconds> retry_after() const;
};

// How long one request may take unless a service's setting says otherwise (every tracker's default).
inline constexpr std::chrono::milliseconds kDefaultRequestTimeout{30000};

struct HttpOptions {
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds request_timeout = kDefaultRequestTimeout;
  bool insecure_skip_tls_verify = false;
  // The certificate authorities a server's certificate must chain to (a PEM file, or a folder of
  // them). Empty: REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE or SSL_CERT_FILE when set (as the services'
  // Python clients read them), else the system's.
  std::string ca_bundle;
  // What a user sets for the two above, named in the error when a server's certificate is not
  // trusted and in the warning that verification is off (empty: the service has no such setting).
  std::string ca_bundle_setting = "REQUESTS_CA_BUNDLE";
  std::string skip_verification_setting;
  // A certificate that this client presents to a server that asks for one (mutual TLS): a PEM file
  // with the certificate and its unencrypted private key, as Python's requests takes `cert=`.
  std::string client_certificate;
  std::string client_certificate_setting;  // named when a server asks for one or refuses it
  std::string authorization;               // the whole header value ("Bearer ...", "Basic ..."); a secret
  std::string user_agent = "trainer";
};

class HttpClient {
 public:
  explicit HttpClient(HttpOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResponse send(const HttpRequest& request);
  // From any thread: true makes the request in flight (and any later one) fail at once with
  // "aborted"; false lets requests through again.
  void set_aborted(bool aborted) { aborted_.store(aborted); }
  const HttpOptions& options() const { return options_; }

 private:
  // The error of a failed libcurl transfer (its CURLcode and error buffer); no secrets.
  std::string describe_failure(int code, const char* detail) const;
  static bool needs_configuration(int code, const char* detail);

  HttpOptions options_;
  void* handle_ = nullptr;  // CURL*, reused so the connection stays open
  std::atomic<bool> aborted_{false};
};

// "POST http://host:5000/api/2.0/mlflow/runs/log-batch": no user-info, no query values.
std::string describe_request(const HttpRequest& request);
std::string url_without_secrets(const std::string& url);

// Percent-encoding of one URL component (RFC 3986 unreserved characters kept).
std::string url_encode(const std::string& text);
// A relative path for a URL: each '/'-separated segment encoded, the slashes kept.
std::string url_encode_path(const std::string& path);
// "user:password" as the value of a Basic Authorization header.
std::string basic_authorization(const std::string& user, const std::string& password);

}  // namespace trainer
