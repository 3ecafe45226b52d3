#include "trainer/integrations/zip_archive.h"

#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <stdexcept>

#include "trainer/core/little_endian.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kLimit = 0xFFFFFFFFull;

struct Entry {
  std::string name;
  uint32_t crc = 0, size = 0, offset = 0;
};

uint32_t crc_of(const fs::path& file, uint64_t* size) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::vector<char> block(1 << 20);
  uLong crc = crc32(0L, Z_NULL, 0);
  *size = 0;
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    const auto n = static_cast<uInt>(in.gcount());
    crc = crc32(crc, reinterpret_cast<const Bytef*>(block.data()), n);
    *size += n;
  }
  return static_cast<uint32_t>(crc);
}

}  // namespace

void write_zip_archive(const fs::path& zip, const std::vector<std::pair<fs::path, std::string>>& files) {
  const fs::path partial = zip.string() + ".partial";
  std::ofstream out(partial, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + partial.string());
  std::vector<Entry> entries;
  uint64_t offset = 0;
  auto put = [&](const std::string& bytes) {
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    offset += bytes.size();
  };
  for (const auto& [file, name] : files) {
    uint64_t size = 0;
    const uint32_t crc = crc_of(file, &size);
    if (size >= kLimit || offset >= kLimit)
      throw std::runtime_error(file.string() + ": 4 GiB or more, which needs ZIP64 (not written)");
    entries.push_back({name, crc, static_cast<uint32_t>(size), static_cast<uint32_t>(offset)});
    std::string header;
    header += little_endian(0x04034b50, 4);  // local file header
    header += little_endian(20, 2);          // version needed: 2.0
    header += little_endian(0x0800, 2);      // flags: UTF-8 names
    header += little_endian(0, 2);           // stored
    header += little_endian(0, 2);           // time
    header += little_endian(0x21, 2);        // date: 1980-01-01
    header += little_endian(crc, 4);
    header += little_endian(static_cast<uint32_t>(size), 4);
    header += little_endian(static_cast<uint32_t>(size), 4);
    header += little_endian(static_cast<uint16_t>(name.size()), 2);
    header += little_endian(0, 2);
    put(header + name);
    std::ifstream in(file, std::ios::binary);
    std::vector<char> block(1 << 20);
    while (in) {
      in.read(block.data(), static_cast<std::streamsize>(block.size()));
      out.write(block.data(), in.gcount());
      offset += static_cast<uint64_t>(in.gcount());
    }
  }
  const uint64_t directory = offset;
  for (const auto& e : entries) {
    std::string central;
    central += little_endian(0x02014b50, 4);  // central directory header
    central += little_endian(0x0314, 2);      // made by: Unix, 2.0
    central += little_endian(20, 2);
    central += little_endian(0x0800, 2);
    central += little_endian(0, 2);
    central += little_endian(0, 2);
    central += little_endian(0x21, 2);
    central += little_endian(e.crc, 4);
    central += little_endian(e.size, 4);
    central += little_endian(e.size, 4);
    central += little_endian(static_cast<uint16_t>(e.name.size()), 2);
    central += little_endian(0, 2);            // extra
    central += little_endian(0, 2);            // comment
    central += little_endian(0, 2);            // disk
    central += little_endian(0, 2);            // internal attributes
    central += little_endian(0644u << 16, 4);  // external: -rw-r--r--
    central += little_endian(e.offset, 4);
    put(central + e.name);
  }
  if (offset >= kLimit || entries.size() >= 0xFFFF)
    throw std::runtime_error(zip.string() + ": too large for a zip without ZIP64");
  std::string end;
  end += little_endian(0x06054b50, 4);  // end of central directory
  end += little_endian(0, 2);
  end += little_endian(0, 2);
  end += little_endian(static_cast<uint16_t>(entries.size()), 2);
  end += little_endian(static_cast<uint16_t>(entries.size()), 2);
  end += little_endian(static_cast<uint32_t>(offset - directory), 4);
  end += little_endian(static_cast<uint32_t>(directory), 4);
  end += little_endian(0, 2);
  put(end);
  out.close();
  if (!out) throw std::runtime_error("cannot write " + partial.string());
  fs::rename(partial, zip);
}

}  // namespace trainer
