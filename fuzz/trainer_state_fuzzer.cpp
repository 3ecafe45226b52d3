// libFuzzer target for the trainer_state.json reader (the JSON layer with Python's NaN/Infinity
// tokens, then TrainerState::from_json).
#include <cstdint>
#include <exception>
#include <string_view>

#include "trainer/core/json.h"
#include "trainer/core/trainer_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto state = trainer::TrainerState::from_json(
        trainer::parse_json(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz"));
    (void)state.to_json_string();
  } catch (const std::exception&) {}
  return 0;
}
