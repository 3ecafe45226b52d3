#include "trainer/net/s3_client.h"

#include <fstream>
#include <stdexcept>

#include "trainer/core/argument_spec.h"
#include "trainer/core/environment.h"
#include "trainer/core/text.h"
#include "trainer/net/digest.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

std::string env(const char* name) { return trim_space(env_string(name)); }

std::string decode_entities(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out += text[i];
      continue;
    }
    const size_t end = text.find(';', i);
    const std::string entity = end == std::string::npos ? "" : text.substr(i + 1, end - i - 1);
    const char* plain = entity == "amp"    ? "&"
                        : entity == "lt"   ? "<"
                        : entity == "gt"   ? ">"
                        : entity == "quot" ? "\""
                        : entity == "apos" ? "'"
                                           : nullptr;
    if (!plain) {
      out += text[i];
      continue;
    }
    out += plain;
    i = end;
  }
  return out;
}

std::string xml_escape(const std::string& text) {
  std::string out;
  for (char c : text)
    out += c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '"' ? "&quot;" : std::string(1, c);
  return out;
}

// S3 may answer 200 to CompleteMultipartUpload and still report an error in the body.
HttpResponse error_in_body(HttpResponse response) {
  if (response.ok() && response.body.find("<Error>") != std::string::npos) response.status = 500;
  return response;
}

}  // namespace

std::vector<std::string> xml_values(const std::string& xml, const std::string& tag) {
  std::vector<std::string> out;
  const std::string open = "<" + tag + ">", close = "</" + tag + ">";
  for (size_t at = xml.find(open); at != std::string::npos; at = xml.find(open, at)) {
    const size_t start = at + open.size();
    const size_t end = xml.find(close, start);
    if (end == std::string::npos) break;
    out.push_back(decode_entities(xml.substr(start, end - start)));
    at = end + close.size();
  }
  return out;
}

S3Settings S3Settings::from_environment() {
  S3Settings s;
  s.endpoint_url = !env("AWS_ENDPOINT_URL_S3").empty() ? env("AWS_ENDPOINT_URL_S3") : env("AWS_ENDPOINT_URL");
  while (!s.endpoint_url.empty() && s.endpoint_url.back() == '/') s.endpoint_url.pop_back();
  if (!s.endpoint_url.empty() && s.endpoint_url.rfind("http://", 0) != 0 && s.endpoint_url.rfind("https://", 0) != 0)
    throw ArgumentError("AWS_ENDPOINT_URL: '" + s.endpoint_url + "' is not an http:// or https:// URL");
  const std::string region = !env("AWS_REGION").empty() ? env("AWS_REGION") : env("AWS_DEFAULT_REGION");
  if (!region.empty()) s.region = region;
  s.credentials = {env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN")};
  if (s.credentials.access_key_id.empty() != s.credentials.secret_access_key.empty())
    throw ArgumentError(std::string("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY go together: ") +
                        (s.credentials.access_key_id.empty() ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY") +
                        " is not set");
  return s;
}

S3Location S3Location::parse(const std::string& url) {
  if (url.rfind("s3://", 0) != 0) throw ArgumentError("'" + url + "' is not an s3://bucket/prefix URL");
  const std::string rest = url.substr(5);
  const size_t slash = rest.find('/');
  S3Location l{rest.substr(0, slash), slash == std::string::npos ? "" : rest.substr(slash + 1)};
  if (l.bucket.empty()) throw ArgumentError("'" + url + "' names no bucket (s3://bucket/prefix)");
  return l;
}

S3Client::S3Client(S3Settings settings) : settings_(std::move(settings)), http_(settings_.http) {}

HttpResponse S3Client::request(const std::string& method, const std::string& bucket, const std::string& key,
                               const HeaderList& query, HeaderList headers, const std::string& body,
                               const std::string& body_file, const std::string& payload_sha256) {
  std::string base, host, path;
  if (!settings_.endpoint_url.empty()) {  // path-style: <endpoint>/<bucket>/<key>
    const size_t scheme = settings_.endpoint_url.find("://") + 3;
    const size_t slash = settings_.endpoint_url.find('/', scheme);
    host = settings_.endpoint_url.substr(scheme, slash == std::string::npos ? std::string::npos : slash - scheme);
    base = settings_.endpoint_url.substr(0, slash == std::string::npos ? settings_.endpoint_url.size() : slash);
    path = (slash == std::string::npos ? "" : settings_.endpoint_url.substr(slash)) + "/" + bucket +
           (key.empty() ? "" : "/" + key);
  } else {  // AWS, virtual-hosted: <bucket>.s3.<region>.amazonaws.com/<key>
    host = bucket + ".s3." + settings_.region + ".amazonaws.com";
    base = "https://" + host;
    path = "/" + key;
  }
  SigV4Request signing{method, host, path, query, headers, payload_sha256};
  HttpRequest r;
  r.method = method;
  const std::string canonical_query = aws_canonical_query(query);
  r.url = base + url_encode_path(path) + (canonical_query.empty() ? "" : "?" + canonical_query);
  r.headers = std::move(headers);
  if (!settings_.credentials.access_key_id.empty())
    for (auto& h : sigv4_sign(signing, settings_.credentials, settings_.region, "s3", amz_date_now()))
      r.headers.push_back(std::move(h));
  r.body = body;
  r.body_file = body_file;
  return http_.send(r);
}

HttpResponse S3Client::put_bytes(const std::string& bucket, const std::string& key, const std::string& bytes,
                                 const std::string& content_type) {
  return request("PUT", bucket, key, {}, {{"Content-Type", content_type}}, bytes, "", hex_encode(sha256(bytes)));
}

HttpResponse S3Client::put_object(const std::string& bucket, const std::string& key, const fs::path& file,
                                  const std::string& content_type) {
  if (fs::file_size(file) >= settings_.multipart_threshold) return multipart_upload(bucket, key, file, content_type);
  return request("PUT", bucket, key, {}, {{"Content-Type", content_type}}, "", file.string(),
                 hex_encode(sha256_of_file(file)));
}

HttpResponse S3Client::multipart_upload(const std::string& bucket, const std::string& key, const fs::path& file,
                                        const std::string& content_type) {
  const std::string empty_sha = hex_encode(sha256(""));
  HttpResponse created =
      request("POST", bucket, key, {{"uploads", ""}}, {{"Content-Type", content_type}}, "", "", empty_sha);
  if (!created.ok()) return created;
  const auto ids = xml_values(created.body, "UploadId");
  if (ids.empty()) {
    created.status = 500;  // no id to go on with: try the whole upload again
    created.body = "CreateMultipartUpload answered without an UploadId";
    return created;
  }
  const std::string upload_id = ids[0];
  std::ifstream in(file, std::ios::binary);
  std::string complete = "<CompleteMultipartUpload>";
  std::string part(settings_.part_size, '\0');
  for (int number = 1; in; ++number) {
    in.read(part.data(), static_cast<std::streamsize>(part.size()));
    const std::string bytes = part.substr(0, static_cast<size_t>(in.gcount()));
    if (bytes.empty() && number > 1) break;
    HttpResponse sent = request("PUT", bucket, key, {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}},
                                {}, bytes, "", hex_encode(sha256(bytes)));
    if (!sent.ok()) {
      request("DELETE", bucket, key, {{"uploadId", upload_id}}, {}, "", "", empty_sha);  // abort: no orphaned parts
      return sent;
    }
    complete += "<Part><PartNumber>" + std::to_string(number) + "</PartNumber><ETag>" +
                xml_escape(sent.headers["etag"]) + "</ETag></Part>";
  }
  complete += "</CompleteMultipartUpload>";
  HttpResponse done =
      error_in_body(request("POST", bucket, key, {{"uploadId", upload_id}}, {{"Content-Type", "application/xml"}},
                            complete, "", hex_encode(sha256(complete))));
  if (!done.ok()) request("DELETE", bucket, key, {{"uploadId", upload_id}}, {}, "", "", empty_sha);
  return done;
}

HttpResponse S3Client::get_object(const std::string& bucket, const std::string& key, const fs::path& file) {
  HttpResponse r = request("GET", bucket, key, {}, {}, "", "", hex_encode(sha256("")));
  if (!r.ok()) return r;
  fs::create_directories(file.parent_path());
  const fs::path partial = file.string() + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    out.write(r.body.data(), static_cast<std::streamsize>(r.body.size()));
    if (!out) throw std::runtime_error("cannot write " + partial.string());
  }
  fs::rename(partial, file);
  r.body.clear();
  return r;
}

std::vector<S3Object> S3Client::list_objects(const std::string& bucket, const std::string& prefix,
                                             HttpResponse* failure) {
  std::vector<S3Object> out;
  std::string token;
  for (;;) {
    HeaderList query{{"list-type", "2"}, {"prefix", prefix}};
    if (!token.empty()) query.emplace_back("continuation-token", token);
    HttpResponse r = request("GET", bucket, "", query, {}, "", "", hex_encode(sha256("")));
    if (!r.ok()) {
      if (failure) *failure = r;
      return {};
    }
    for (const auto& contents : xml_values(r.body, "Contents")) {
      const auto keys = xml_values(contents, "Key");
      const auto sizes = xml_values(contents, "Size");
      if (!keys.empty()) out.push_back({keys[0], sizes.empty() ? 0 : std::stoull(sizes[0])});
    }
    const auto truncated = xml_values(r.body, "IsTruncated");
    const auto next = xml_values(r.body, "NextContinuationToken");
    if (truncated.empty() || truncated[0] != "true" || next.empty()) break;
    token = next[0];
  }
  return out;
}

HttpResponse S3Client::delete_object(const std::string& bucket, const std::string& key) {
  return request("DELETE", bucket, key, {}, {}, "", "", hex_encode(sha256("")));
}

}  // namespace trainer
