// Regression test over the inputs the fuzzers found (tests/fuzz_corpus/, made by fuzz/): every one
// is either parsed or refused with an exception, never a crash.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "trainer/core/json.h"
#include "trainer/core/trainer_state.h"
#include "trainer/torch/safetensors.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

std::vector<std::pair<std::string, std::string>> corpus(const std::string& name) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : fs::directory_iterator(fs::path(TRAINER_SOURCE_DIR) / "tests" / "fuzz_corpus" / name)) {
    std::ifstream in(e.path(), std::ios::binary);
    out.emplace_back(e.path().filename().string(), std::string(std::istreambuf_iterator<char>(in), {}));
  }
  return out;
}

TEST(FuzzCorpus, SafetensorsInputsParseOrAreRefused) {
  const auto inputs = corpus("safetensors");
  ASSERT_GE(inputs.size(), 10u);
  int parsed = 0, refused = 0;
  for (const auto& [name, bytes] : inputs) {
    try {
      parse_safetensors(bytes, name);
      ++parsed;
    } catch (const std::runtime_error&) {
      ++refused;
    }
  }
  EXPECT_GT(parsed, 0);
  EXPECT_GT(refused, 0);
}

TEST(FuzzCorpus, TrainerStateInputsParseOrAreRefused) {
  const auto inputs = corpus("trainer_state");
  ASSERT_GE(inputs.size(), 10u);
  int parsed = 0, refused = 0;
  for (const auto& [name, bytes] : inputs) {
    try {
      auto state = TrainerState::from_json(parse_json(bytes, name));
      (void)state.to_json_string();
      ++parsed;
    } catch (const std::runtime_error&) {
      ++refused;
    }
  }
  EXPECT_GT(parsed, 0);
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace trainer
