#include "trainer/integrations/text_output.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace trainer {

std::string escape_html(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

void AppendedFile::append(std::string_view text, std::string_view header) {
  if (!out_.is_open()) {
    std::error_code ignored;
    const bool is_new = !std::filesystem::exists(path_, ignored);
    if (is_new) std::filesystem::create_directories(path_.parent_path(), ignored);
    out_.open(path_, std::ios::app | std::ios::binary);
    if (is_new) out_ << header;
  }
  out_ << text;
  out_.flush();
  if (!out_) {
    const std::string reason = std::strerror(errno);
    out_.close();
    out_.clear();
    throw std::runtime_error("cannot write " + path_.string() + ": " + reason);
  }
}

std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(text);
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

}  // namespace trainer
