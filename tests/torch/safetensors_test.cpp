#include "trainer/torch/safetensors.h"

#include "trainer/core/json.h"

#include <gtest/gtest.h>

#include <fstream>

#include "test_support.h"

namespace trainer {
namespace {

std::string bytes_of(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_raw(const std::filesystem::path& p, const std::string& header, const std::string& data,
               uint64_t len_override = 0) {
  std::string out;
  uint64_t len = len_override ? len_override : header.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((len >> (8 * i)) & 0xFF));
  out += header + data;
  std::ofstream(p, std::ios::binary) << out;
}

std::string error_of(const std::filesystem::path& p) {
  try {
    load_safetensors(p);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST(Safetensors, RoundTripsAndWritesTheReferenceLayout) {
  testing::TempDir dir;
  NamedTensors t = {{"w", torch::arange(6, torch::kFloat).reshape({2, 3})},
                    {"b", torch::tensor({1, 2}, torch::kLong)},
                    {"h", torch::ones({2}, torch::kBFloat16)}};
  save_safetensors(dir / "m.safetensors", t);
  auto back = load_safetensors(dir / "m.safetensors");
  ASSERT_EQ(back.size(), 3u);
  for (size_t i = 0; i < t.size(); ++i) {
    EXPECT_EQ(back[i].first, t[i].first);
    EXPECT_TRUE(torch::equal(back[i].second, t[i].second));
  }
  const auto raw = bytes_of(dir / "m.safetensors");
  uint64_t len = 0;
  for (int i = 7; i >= 0; --i) len = (len << 8) | static_cast<unsigned char>(raw[i]);
  EXPECT_EQ(len % 8, 0u);
  auto header = Json::parse(raw.substr(8, len));
  EXPECT_EQ(header["__metadata__"]["format"], "pt");
  EXPECT_EQ(header["w"]["dtype"], "F32");
  EXPECT_EQ(header["w"]["data_offsets"], Json::array({0, 24}));
  EXPECT_EQ(header["b"]["data_offsets"], Json::array({24, 40}));
  EXPECT_EQ(raw.size(), 8 + len + 44);
}

TEST(Safetensors, HostileFilesAreRefused) {
  testing::TempDir dir;
  const auto p = dir / "bad.safetensors";
  std::ofstream(p, std::ios::binary) << "abc";
  EXPECT_NE(error_of(p).find("truncated"), std::string::npos);
  write_raw(p, "{}", "", 1ull << 40);
  EXPECT_NE(error_of(p).find("too large"), std::string::npos);
  write_raw(p, "{}", "", 100);
  EXPECT_NE(error_of(p).find("header runs past the end"), std::string::npos);
  write_raw(p, "{not json", "");
  EXPECT_NE(error_of(p).find("invalid header JSON"), std::string::npos);
  write_raw(p, R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 16]}})", std::string(8, '\0'));
  EXPECT_NE(error_of(p).find("outside the data"), std::string::npos);
  write_raw(p, R"({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", std::string(8, '\0'));
  EXPECT_NE(error_of(p).find("need 12 bytes"), std::string::npos);
  write_raw(
      p,
      R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
      std::string(12, '\0'));
  EXPECT_NE(error_of(p).find("overlap"), std::string::npos);
  write_raw(p, R"({"a": {"dtype": "Q4", "shape": [2], "data_offsets": [0, 1]}})", std::string(1, '\0'));
  EXPECT_NE(error_of(p).find("unsupported dtype 'Q4'"), std::string::npos);
  write_raw(p, R"({"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}})", std::string(8, '\0'));
  EXPECT_NE(error_of(p).find("non-negative"), std::string::npos);
  write_raw(p, R"({"a": {"dtype": "U8", "shape": [4294967296, 4294967296], "data_offsets": [0, 1]}})",
            std::string(1, '\0'));
  EXPECT_FALSE(error_of(p).empty());
}

}  // namespace
}  // namespace trainer
