// Digests and encodings against published test vectors (RFC 1321, FIPS 180-2, RFC 4231, RFC 4648).
#include "trainer/net/digest.h"

#include <gtest/gtest.h>

#include <fstream>

#include "test_support.h"

namespace trainer {
namespace {

TEST(Digest, Md5MatchesRfc1321) {
  EXPECT_EQ(hex_encode(md5("")), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(hex_encode(md5("message digest")), "f96b697d7cb7938d525a2f31aaf161d0");
}

TEST(Digest, Sha256MatchesFips180) {
  EXPECT_EQ(hex_encode(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex_encode(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Digest, HmacSha256MatchesRfc4231) {
  EXPECT_EQ(hex_encode(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hex_encode(hmac_sha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(Digest, Base64MatchesRfc4648) {
  const char* expected[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  const std::string text = "foobar";
  for (size_t n = 0; n <= text.size(); ++n) EXPECT_EQ(base64_encode(text.substr(0, n)), expected[n]) << n;
}

TEST(Digest, AFileIsDigestedInBlocksLikeItsBytes) {
  testing::TempDir tmp;
  const std::string bytes(3 * (1 << 20) + 17, 'x');  // more than one read block
  std::ofstream(tmp.path() / "f", std::ios::binary) << bytes;
  EXPECT_EQ(md5_of_file(tmp.path() / "f"), md5(bytes));
  EXPECT_EQ(sha256_of_file(tmp.path() / "f"), sha256(bytes));
  EXPECT_THROW(md5_of_file(tmp.path() / "missing"), std::runtime_error);
}

}  // namespace
}  // namespace trainer
