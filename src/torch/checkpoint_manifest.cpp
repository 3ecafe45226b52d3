#include "trainer/torch/checkpoint_manifest.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <vector>

#include "trainer/core/json.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

uint32_t crc32_of(std::string_view bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths: feed large files in pieces.
  constexpr size_t kPiece = size_t{1} << 30;
  for (size_t off = 0; off < bytes.size(); off += kPiece) {
    const size_t n = std::min(kPiece, bytes.size() - off);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + off), static_cast<uInt>(n));
  }
  return static_cast<uint32_t>(crc);
}

std::string hex(uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

// The file's size and CRC-32, read in chunks.
bool checksum_file(const fs::path& path, uint64_t& bytes, uint32_t& crc) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  uLong c = crc32(0L, Z_NULL, 0);
  std::vector<char> buf(1 << 20);
  bytes = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = in.gcount();
    if (n <= 0) break;
    c = crc32(c, reinterpret_cast<const Bytef*>(buf.data()), static_cast<uInt>(n));
    bytes += static_cast<uint64_t>(n);
  }
  crc = static_cast<uint32_t>(c);
  return !in.bad();
}

}  // namespace

void CheckpointManifest::add(const std::string& file_name, std::string_view bytes) {
  files_[file_name] = Entry{bytes.size(), crc32_of(bytes)};
}

std::string CheckpointManifest::to_json_string() const {
  Json files = Json::object();
  for (const auto& [name, e] : files_) files[name] = Json{{"bytes", e.bytes}, {"crc32", hex(e.crc32)}};
  return dump_json(Json{{"algorithm", "crc32"}, {"files", files}}) + "\n";
}

std::string manifest_problem(const fs::path& dir) {
  const fs::path path = dir / kManifestFile;
  if (!fs::exists(path)) return "";
  Json manifest;
  try {
    manifest = read_json_file(path);
    if (required_field<std::string>(manifest, "algorithm") != "crc32")
      return std::string(kManifestFile) + ": unknown checksum algorithm '" + manifest["algorithm"].get<std::string>() +
             "'";
    if (!manifest.contains("files") || !manifest["files"].is_object())
      return std::string(kManifestFile) + ": field 'files': expected an object";
    for (auto it = manifest["files"].begin(); it != manifest["files"].end(); ++it) {
      const auto want_bytes = required_field<int64_t>(it.value(), "bytes");
      const auto want_crc = required_field<std::string>(it.value(), "crc32");
      uint64_t bytes = 0;
      uint32_t crc = 0;
      if (!fs::exists(dir / it.key())) return it.key() + " is missing (listed in " + kManifestFile + ")";
      if (!checksum_file(dir / it.key(), bytes, crc)) return it.key() + ": cannot be read";
      if (bytes != static_cast<uint64_t>(want_bytes))
        return it.key() + " has " + std::to_string(bytes) + " bytes, " + kManifestFile + " recorded " +
               std::to_string(want_bytes) + " (truncated or overwritten)";
      if (hex(crc) != want_crc)
        return it.key() + " does not match its checksum in " + kManifestFile + " (crc32 " + hex(crc) + ", recorded " +
               want_crc + "): the file was corrupted after it was saved";
    }
  } catch (const std::exception& e) {
    return std::string(kManifestFile) + ": " + e.what();
  }
  return "";
}

}  // namespace trainer
