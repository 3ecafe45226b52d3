// libFuzzer target for the safetensors reader: any input must either parse or be refused with an
// exception; never crash, hang or read out of bounds (build with -DTRAINER_BUILD_FUZZERS=ON and clang).
#include <cstdint>
#include <exception>
#include <string_view>

#include "trainer/torch/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    trainer::parse_safetensors(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
  } catch (const std::exception&) {}
  return 0;
}
