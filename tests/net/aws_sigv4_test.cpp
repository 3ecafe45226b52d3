// The SigV4 signer against the example signatures AWS publishes for S3 (Signature Calculations in
// AWS Signature Version 4, header-based authentication): GET object with a range, PUT object,
// a sub-resource query (lifecycle) and a list with parameters.
#include "trainer/net/aws_sigv4.h"

#include <gtest/gtest.h>

#include "trainer/net/digest.h"

namespace trainer {
namespace {

const AwsCredentials kExample{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
const std::string kEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string signature_of(const SigV4Request& request) {
  for (const auto& [name, value] : sigv4_sign(request, kExample, "us-east-1", "s3", "20130524T000000Z"))
    if (name == "Authorization") return value.substr(value.find("Signature=") + 10);
  return "";
}

SigV4Request example(const std::string& method, const std::string& path) {
  SigV4Request r;
  r.method = method;
  r.host = "examplebucket.s3.amazonaws.com";
  r.path = path;
  r.payload_sha256 = kEmpty;
  return r;
}

TEST(AwsSigV4, GetObjectWithARange) {
  SigV4Request r = example("GET", "/test.txt");
  r.headers = {{"Range", "bytes=0-9"}};
  EXPECT_EQ(signature_of(r), "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  const auto headers = sigv4_sign(r, kExample, "us-east-1", "s3", "20130524T000000Z");
  EXPECT_EQ(headers.back().second,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST(AwsSigV4, PutObjectWithAPathToEncode) {
  SigV4Request r = example("PUT", "/test$file.text");
  r.payload_sha256 = hex_encode(sha256("Welcome to Amazon S3."));
  r.headers = {{"Date", "Fri, 24 May 2013 00:00:00 GMT"}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"}};
  EXPECT_NE(sigv4_canonical_request(r, "20130524T000000Z", "").find("\n/test%24file.text\n"), std::string::npos);
  EXPECT_EQ(signature_of(r), "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST(AwsSigV4, ASubResourceQueryWithoutValue) {
  SigV4Request r = example("GET", "/");
  r.query = {{"lifecycle", ""}};
  EXPECT_EQ(signature_of(r), "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST(AwsSigV4, AListQueryIsSortedAndEncoded) {
  SigV4Request r = example("GET", "/");
  r.query = {{"prefix", "J"}, {"max-keys", "2"}};  // given unsorted: signed sorted
  EXPECT_EQ(signature_of(r), "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
  EXPECT_EQ(aws_canonical_query({{"prefix", "a b/c"}, {"list-type", "2"}, {"continuation-token", "x+y="}}),
            "continuation-token=x%2By%3D&list-type=2&prefix=a%20b%2Fc");
}

TEST(AwsSigV4, ASessionTokenIsSignedAndSent) {
  SigV4Request r = example("GET", "/test.txt");
  const AwsCredentials temporary{kExample.access_key_id, kExample.secret_access_key, "the-session-token"};
  const auto headers = sigv4_sign(r, temporary, "us-east-1", "s3", "20130524T000000Z");
  EXPECT_EQ(headers[2], (std::pair<std::string, std::string>{"x-amz-security-token", "the-session-token"}));
  EXPECT_NE(headers.back().second.find("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token"),
            std::string::npos);
  EXPECT_NE(signature_of(r), headers.back().second.substr(headers.back().second.find("Signature=") + 10));
}

}  // namespace
}  // namespace trainer
