#pragma once
// How trackers take a checkpoint's files: the list of them, and a snapshot of one that outlives
// the checkpoint (rotation may delete it before the tracker has sent or packed it).

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace trainer {

// The regular files under `dir` with their '/'-separated paths relative to it, sorted by that path.
std::vector<std::pair<std::filesystem::path, std::string>> files_under(const std::filesystem::path& dir);

// `to` becomes a snapshot of `from`: a hard link (checkpoint files are never changed in place), or
// a copy where links are impossible; its folders are made and an older `to` is replaced.
void snapshot_file(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace trainer
