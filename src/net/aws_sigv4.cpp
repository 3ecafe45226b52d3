#include "trainer/net/aws_sigv4.h"

#include <algorithm>
#include <ctime>

#include "trainer/core/text.h"
#include "trainer/net/digest.h"
#include "trainer/net/http_client.h"  // url_encode: RFC 3986, as SigV4 wants it

namespace trainer {

std::string aws_canonical_query(const HeaderList& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  for (const auto& [k, v] : query) encoded.emplace_back(url_encode(k), url_encode(v));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [k, v] : encoded) out += (out.empty() ? "" : "&") + k + "=" + v;
  return out;
}

namespace {

// Lower-case names, trimmed values, sorted; the host and the x-amz-* headers SigV4 adds included.
HeaderList canonical_headers(const SigV4Request& request, const std::string& amz_date,
                             const std::string& session_token) {
  HeaderList headers{
      {"host", request.host}, {"x-amz-content-sha256", request.payload_sha256}, {"x-amz-date", amz_date}};
  if (!session_token.empty()) headers.emplace_back("x-amz-security-token", session_token);
  for (const auto& [name, value] : request.headers) headers.emplace_back(ascii_lower(name), trim_space(value));
  std::sort(headers.begin(), headers.end());
  return headers;
}

std::string signed_header_names(const HeaderList& headers) {
  std::string out;
  for (const auto& [name, value] : headers) out += (out.empty() ? "" : ";") + name;
  return out;
}

}  // namespace

std::string sigv4_canonical_request(const SigV4Request& request, const std::string& amz_date,
                                    const std::string& session_token) {
  const HeaderList headers = canonical_headers(request, amz_date, session_token);
  std::string text = request.method + "\n" + url_encode_path(request.path.empty() ? "/" : request.path) + "\n" +
                     aws_canonical_query(request.query) + "\n";
  for (const auto& [name, value] : headers) text += name + ":" + value + "\n";
  return text + "\n" + signed_header_names(headers) + "\n" + request.payload_sha256;
}

HeaderList sigv4_sign(const SigV4Request& request, const AwsCredentials& credentials, const std::string& region,
                      const std::string& service, const std::string& amz_date) {
  const std::string day = amz_date.substr(0, 8);
  const std::string scope = day + "/" + region + "/" + service + "/aws4_request";
  const std::string canonical = sigv4_canonical_request(request, amz_date, credentials.session_token);
  const std::string to_sign = "AWS4-HMAC-SHA256\n" + amz_date + "\n" + scope + "\n" + hex_encode(sha256(canonical));
  std::string key = hmac_sha256("AWS4" + credentials.secret_access_key, day);
  key = hmac_sha256(key, region);
  key = hmac_sha256(key, service);
  key = hmac_sha256(key, "aws4_request");
  const std::string signature = hex_encode(hmac_sha256(key, to_sign));
  HeaderList out{{"x-amz-date", amz_date}, {"x-amz-content-sha256", request.payload_sha256}};
  if (!credentials.session_token.empty()) out.emplace_back("x-amz-security-token", credentials.session_token);
  out.emplace_back("Authorization",
                   "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + "/" + scope + ", SignedHeaders=" +
                       signed_header_names(canonical_headers(request, amz_date, credentials.session_token)) +
                       ", Signature=" + signature);
  return out;
}

std::string amz_date_now() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &utc);
  return buf;
}

}  // namespace trainer
