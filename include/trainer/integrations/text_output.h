#pragma once
// How trackers write their text files: a file held open for appending, and CSV fields.

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace trainer {

// A file a tracker appends to at every log, opened once and held open. A failed write throws
// std::runtime_error naming the path and the system error ("No space left on device") and closes
// the file, so the next append opens it again.
class AppendedFile {
 public:
  explicit AppendedFile(std::filesystem::path path) : path_(std::move(path)) {}
  // `header` is written first when the append creates the file.
  void append(std::string_view text, std::string_view header = {});
  // Closes it (before the file is replaced, so the next append writes to the new one).
  void close() { out_.close(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  std::ofstream out_;
};

// Text made safe for HTML and SVG (the report, the Flyte deck).
std::string escape_html(const std::string& text);

// A CSV field: as it is, or in double quotes (quotes doubled) when it holds a comma, quote or line end.
std::string csv_field(std::string_view text);

}  // namespace trainer
