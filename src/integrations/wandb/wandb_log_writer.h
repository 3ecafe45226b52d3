#pragma once
// WandbLogWriter: W&B's `.wandb` transaction log, which `wandb sync`
// uploads: a 7-byte header (":W&B", 0xBEE1, version 0), then records in LevelDB-log chunks inside
// 32 KiB blocks, each chunk checksummed with CRC-32 (zlib's, unmasked) over its type byte and data.
// Each record is handed to the OS as soon as it is written, so a process killed at any point
// leaves a file that reads cleanly up to its last complete record; sync() makes it durable.

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

namespace trainer {

inline constexpr size_t kWandbBlockSize = 32768;
inline constexpr size_t kWandbChunkHeaderSize = 7;
enum class WandbChunkType : uint8_t { full = 1, first = 2, middle = 3, last = 4 };

// One chunk's 7-byte header: CRC-32 of type + data (little-endian), length, type.
std::string wandb_chunk_header(WandbChunkType type, std::string_view data);

class WandbLogWriter {
 public:
  // Creates the file (its folder must exist) and writes the header. Throws std::runtime_error
  // naming the path and the system error.
  explicit WandbLogWriter(std::filesystem::path path);
  ~WandbLogWriter();
  WandbLogWriter(const WandbLogWriter&) = delete;
  WandbLogWriter& operator=(const WandbLogWriter&) = delete;

  // One serialized Record, split into chunks at block boundaries.
  void append(std::string_view record);
  void sync();  // fsync: what was appended survives a power loss
  void close();
  const std::filesystem::path& path() const { return path_; }

 private:
  void write_bytes(std::string_view bytes);

  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  uint64_t offset_ = 0;
};

}  // namespace trainer
