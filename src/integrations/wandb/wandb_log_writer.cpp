#include "integrations/wandb/wandb_log_writer.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "trainer/core/little_endian.h"

namespace trainer {
namespace {

std::runtime_error io_failure(const std::string& what, const std::filesystem::path& path) {
  return std::runtime_error(what + " " + path.string() + ": " + std::strerror(errno));
}

}  // namespace

std::string wandb_chunk_header(WandbChunkType type, std::string_view data) {
  const auto type_byte = static_cast<Bytef>(type);
  uLong crc = crc32(0L, &type_byte, 1);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
  return little_endian(crc, 4) + little_endian(data.size(), 2) + std::string(1, static_cast<char>(type));
}

WandbLogWriter::WandbLogWriter(std::filesystem::path path) : path_(std::move(path)) {
  file_ = std::fopen(path_.c_str(), "wb");
  if (!file_) throw io_failure("cannot create W&B run file", path_);
  write_bytes(std::string(":W&B", 4) + little_endian(0xBEE1, 2) + std::string(1, '\0'));
  if (std::fflush(file_) != 0) throw io_failure("cannot write", path_);
}

WandbLogWriter::~WandbLogWriter() {
  if (file_) std::fclose(file_);
}

void WandbLogWriter::write_bytes(std::string_view bytes) {
  if (!file_) throw std::runtime_error("W&B run file " + path_.string() + " is closed");
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) throw io_failure("cannot write", path_);
  offset_ += bytes.size();
}

void WandbLogWriter::append(std::string_view record) {
  bool first = true;
  do {
    size_t left_in_block = kWandbBlockSize - offset_ % kWandbBlockSize;
    if (left_in_block < kWandbChunkHeaderSize) {  // no room for a header: zeros to the block's end
      write_bytes(std::string(left_in_block, '\0'));
      left_in_block = kWandbBlockSize;
    }
    const size_t room = left_in_block - kWandbChunkHeaderSize;
    const size_t n = std::min(room, record.size());
    const bool last = n == record.size();
    const WandbChunkType type = first && last ? WandbChunkType::full
                                : first       ? WandbChunkType::first
                                : last        ? WandbChunkType::last
                                              : WandbChunkType::middle;
    const std::string_view data = record.substr(0, n);
    write_bytes(wandb_chunk_header(type, data));
    write_bytes(data);
    record.remove_prefix(n);
    first = false;
  } while (!record.empty());
  if (std::fflush(file_) != 0) throw io_failure("cannot write", path_);  // the OS has it: a kill loses nothing
}

void WandbLogWriter::sync() {
  if (file_ && (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0)) throw io_failure("cannot sync", path_);
}

void WandbLogWriter::close() {
  if (!file_) return;
  const int flushed = std::fflush(file_);
  const int closed = std::fclose(file_);
  file_ = nullptr;
  if (flushed != 0 || closed != 0) throw io_failure("cannot write", path_);
}

}  // namespace trainer
