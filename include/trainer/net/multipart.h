#pragma once
// MultipartForm: a multipart/form-data body (RFC 7578), the one way the remote trackers upload
// files in a form (DagsHub's content API, Comet's upload-asset).

#include <filesystem>
#include <string>

namespace trainer {

class MultipartForm {
 public:
  void add_field(const std::string& name, const std::string& value);
  // The file's bytes as a part named `name` with this filename. Throws std::runtime_error naming
  // the file when it cannot be read.
  void add_file(const std::string& name, const std::string& filename, const std::filesystem::path& file);
  // The body, closed; call once all parts are added.
  std::string finish();
  std::string content_type() const;

 private:
  std::string body_;
};

}  // namespace trainer
