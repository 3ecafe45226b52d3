#pragma once
// A zip archive of files, stored without compression (checkpoint weights do not compress), as
// ClearML's SDK packages a checkpoint folder for upload. Readable by any unzip and Python's
// zipfile. Files and archives of 4 GiB or more need ZIP64, which this writer does not do: it
// throws std::runtime_error naming the file instead.

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace trainer {

// `files`: (file on disk, name in the archive). Written to `zip` whole, then renamed into place.
void write_zip_archive(const std::filesystem::path& zip,
                       const std::vector<std::pair<std::filesystem::path, std::string>>& files);

}  // namespace trainer
