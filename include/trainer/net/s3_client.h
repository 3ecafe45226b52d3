#pragma once
// S3Client: the few S3 calls checkpoint sync needs, on the project's HttpClient and SigV4 signer,
// against AWS or any S3-compatible store (AWS_ENDPOINT_URL: MinIO, Ceph, moto, ...):
//   put_object     one PUT, or a multipart upload (create, parts, complete; aborted on failure)
//                  for files of at least multipart_threshold bytes
//   get_object     to a file (written whole, then renamed into place)
//   list_objects   ListObjectsV2, every page
//   delete_object
// Each call returns the HTTP answer that decides it (the first that failed), so that the caller
// can classify it (retry, rejected) as for any service. Secrets never appear in an error.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "trainer/net/aws_sigv4.h"
#include "trainer/net/http_client.h"

namespace trainer {

struct S3Settings {
  std::string endpoint_url;          // AWS_ENDPOINT_URL(_S3): path-style requests to it; empty: AWS, virtual-hosted
  std::string region = "us-east-1";  // AWS_REGION, else AWS_DEFAULT_REGION
  AwsCredentials credentials;        // AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
  uint64_t multipart_threshold = 64ull << 20;
  uint64_t part_size = 16ull << 20;  // S3's minimum is 5 MiB (but for the last part)
  HttpOptions http;
  // Throws ArgumentError naming the variable when one is malformed or the key id lacks its secret.
  static S3Settings from_environment();
};

// s3://bucket/key/prefix -> {bucket, "key/prefix"}; throws ArgumentError for anything else.
struct S3Location {
  std::string bucket, key;
  static S3Location parse(const std::string& url);
};

struct S3Object {
  std::string key;
  uint64_t size = 0;
};

class S3Client {
 public:
  explicit S3Client(S3Settings settings);

  HttpResponse put_object(const std::string& bucket, const std::string& key, const std::filesystem::path& file,
                          const std::string& content_type = "application/octet-stream");
  HttpResponse put_bytes(const std::string& bucket, const std::string& key, const std::string& bytes,
                         const std::string& content_type = "application/octet-stream");
  HttpResponse get_object(const std::string& bucket, const std::string& key, const std::filesystem::path& file);
  // The objects under `prefix`, or the answer that failed (`failure` set).
  std::vector<S3Object> list_objects(const std::string& bucket, const std::string& prefix, HttpResponse* failure);
  HttpResponse delete_object(const std::string& bucket, const std::string& key);

  void set_aborted(bool aborted) { http_.set_aborted(aborted); }
  const S3Settings& settings() const { return settings_; }

 private:
  HttpResponse request(const std::string& method, const std::string& bucket, const std::string& key,
                       const HeaderList& query, HeaderList headers, const std::string& body,
                       const std::string& body_file, const std::string& payload_sha256);
  HttpResponse multipart_upload(const std::string& bucket, const std::string& key, const std::filesystem::path& file,
                                const std::string& content_type);

  S3Settings settings_;
  HttpClient http_;
};

// The text of each <tag>...</tag> in an S3 XML answer, entities decoded.
std::vector<std::string> xml_values(const std::string& xml, const std::string& tag);

}  // namespace trainer
