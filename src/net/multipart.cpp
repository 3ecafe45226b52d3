#include "trainer/net/multipart.h"

#include <fstream>
#include <iterator>
#include <stdexcept>

namespace trainer {
namespace {

// Never in a file the trackers upload: checkpoints are binary, but the boundary is long and random-looking.
const char* kBoundary = "----trainer-form-7d1f3a9c2b5e4a60";

}  // namespace

void MultipartForm::add_field(const std::string& name, const std::string& value) {
  body_ += std::string("--") + kBoundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value +
           "\r\n";
}

void MultipartForm::add_file(const std::string& name, const std::string& filename, const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  body_ += std::string("--") + kBoundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"; filename=\"" +
           filename + "\"\r\nContent-Type: application/octet-stream\r\n\r\n";
  body_.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  body_ += "\r\n";
}

std::string MultipartForm::finish() {
  body_ += std::string("--") + kBoundary + "--\r\n";
  return std::move(body_);
}

std::string MultipartForm::content_type() const { return std::string("multipart/form-data; boundary=") + kBoundary; }

}  // namespace trainer
