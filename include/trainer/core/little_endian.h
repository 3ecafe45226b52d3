#pragma once
// The low `bytes` bytes of `value`, least significant first: the integer fields of the binary
// record formats the trackers write (TFRecord, W&B's transaction log, zip archives).

#include <cstdint>
#include <string>

namespace trainer {

inline std::string little_endian(uint64_t value, int bytes) {
  std::string out(static_cast<size_t>(bytes), '\0');
  for (int i = 0; i < bytes; ++i) out[static_cast<size_t>(i)] = static_cast<char>((value >> (8 * i)) & 0xFF);
  return out;
}

}  // namespace trainer
