#pragma once
// AWS Signature Version 4 for S3 requests, signed in the project rather than by libcurl: Debian
// 12's libcurl 7.88 (CURLOPT_AWS_SIGV4) leaves out the x-amz-content-sha256 header that S3 requires
// and signs the query string as given (unsorted, unencoded), so list requests fail against S3.
// Here the query is canonical (sorted, RFC 3986 encoded), the payload's SHA-256 is a signed header,
// and the request is sent with exactly the path and query that were signed. Tested against AWS's
// published example signatures and against botocore's signer (tests/cli/flyte_test.sh).

#include <string>
#include <utility>
#include <vector>

namespace trainer {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;  // a secret: never logged
  std::string session_token;      // a secret; empty unless temporary credentials
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct SigV4Request {
  std::string method = "GET";
  std::string host;            // as in the Host header: name[:port]
  std::string path = "/";      // not encoded: "/bucket/a key"
  HeaderList query;            // not encoded; a key without value is {"uploads", ""}
  HeaderList headers;          // other headers to sign (range, content-type, x-amz-*)
  std::string payload_sha256;  // hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"
};

// key=value pairs sorted by key (then value), each encoded, joined with '&'.
std::string aws_canonical_query(const HeaderList& query);
std::string sigv4_canonical_request(const SigV4Request& request, const std::string& amz_date,
                                    const std::string& session_token);
// The headers to send with the request: x-amz-date, x-amz-content-sha256, x-amz-security-token
// (with a session token) and Authorization. `amz_date` is YYYYMMDDTHHMMSSZ (UTC).
HeaderList sigv4_sign(const SigV4Request& request, const AwsCredentials& credentials, const std::string& region,
                      const std::string& service, const std::string& amz_date);
std::string amz_date_now();

}  // namespace trainer
