#include "trainer/core/file_snapshot.h"

#include <algorithm>

namespace trainer {

namespace fs = std::filesystem;

std::vector<std::pair<fs::path, std::string>> files_under(const fs::path& dir) {
  std::vector<std::pair<fs::path, std::string>> files;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.is_regular_file()) files.emplace_back(entry.path(), fs::relative(entry.path(), dir).generic_string());
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  return files;
}

void snapshot_file(const fs::path& from, const fs::path& to) {
  fs::create_directories(to.parent_path());
  std::error_code ec;
  if (fs::equivalent(from, to, ec)) return;  // a snapshot already (or the same link)
  fs::remove(to, ec);
  fs::create_hard_link(from, to, ec);
  if (ec) fs::copy_file(from, to, fs::copy_options::overwrite_existing);
}

}  // namespace trainer
