#pragma once
// BlobStore: a Flyte blob prefix that checkpoints are synced to and restored from: a local (or
// mounted) folder, or s3://bucket/prefix on AWS or any S3-compatible store (S3Client). Keys are
// '/'-separated paths under the prefix. Answers are Deliveries, classified as the sender wants them.

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "trainer/tracking/record_sender.h"

namespace trainer {

// A Flyte template variable's value as a location: none for "" or a template left unrendered
// ("{{.prevCheckpointPrefix}}"), else the value (a trailing '/' removed).
std::optional<std::string> flyte_location(const std::string& value);

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  // Throws ArgumentError for a malformed location or S3 variables.
  static std::unique_ptr<BlobStore> open(const std::string& location);

  virtual Delivery put_file(const std::filesystem::path& file, const std::string& key,
                            const std::string& content_type) = 0;
  virtual Delivery put_text(const std::string& key, const std::string& text) = 0;
  virtual Delivery delete_prefix(const std::string& prefix) = 0;
  // The keys under `prefix` (relative to the store), or the failure.
  virtual std::vector<std::string> list(const std::string& prefix, Delivery* failure) = 0;
  virtual Delivery get_file(const std::string& key, const std::filesystem::path& file) = 0;
  // The object's text; nullopt when it does not exist. Throws std::runtime_error on other failures.
  virtual std::optional<std::string> get_text(const std::string& key) = 0;
  virtual void set_aborted(bool aborted) {}
  virtual std::string describe() const = 0;  // "s3://bucket/prefix" or the folder (never a secret)
};

}  // namespace trainer
