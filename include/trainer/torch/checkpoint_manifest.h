#pragma once
// checkpoint_manifest.json: the size and CRC-32 of every file of a checkpoint, written last, so a
// checkpoint whose bytes changed after the save (a bad disk, a truncated copy, a stray write) is
// caught when it is loaded, and `--resume_from_checkpoint last` falls back to an older one.

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

namespace trainer {

inline constexpr const char* kManifestFile = "checkpoint_manifest.json";

class CheckpointManifest {
 public:
  void add(const std::string& file_name, std::string_view bytes);
  // {"algorithm": "crc32", "files": {"model.safetensors": {"bytes": N, "crc32": "8 hex digits"}, ...}}
  std::string to_json_string() const;

 private:
  struct Entry {
    uint64_t bytes = 0;
    uint32_t crc32 = 0;
  };
  std::map<std::string, Entry> files_;
};

// Checks the files of `dir` against its manifest. Returns "" when they match or when the
// checkpoint has no manifest (written by an older version); otherwise which file differs and how.
std::string manifest_problem(const std::filesystem::path& dir);

}  // namespace trainer
