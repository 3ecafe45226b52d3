#include "trainer/core/random_id.h"

#include <cstdint>
#include <random>

namespace trainer {
namespace {

std::mt19937_64& generator() {
  thread_local std::mt19937_64 rng = [] {
    std::random_device device;
    return std::mt19937_64((static_cast<uint64_t>(device()) << 32) ^ device());
  }();
  return rng;
}

}  // namespace

std::string random_id(size_t length, const std::string& alphabet) {
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  std::string id;
  id.reserve(length);
  for (size_t i = 0; i < length; ++i) id += alphabet[pick(generator())];
  return id;
}

std::string random_hex(size_t length) { return random_id(length, "0123456789abcdef"); }

std::string random_uuid4() {
  std::string out = random_hex(32);
  out[12] = '4';                                                    // version 4
  out[16] = "89ab"[std::stoi(out.substr(16, 1), nullptr, 16) % 4];  // variant 10xx
  for (size_t at : {8, 13, 18, 23}) out.insert(at, "-");
  return out;
}

}  // namespace trainer
