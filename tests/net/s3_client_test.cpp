// S3Client against moto's S3 server on 127.0.0.1 (signatures checked): a multipart upload read back
// with botocore, list, get, delete, a wrong key refused; and the environment's variables parsed in
// one place with errors that name them.
#include "trainer/net/s3_client.h"

#include <gtest/gtest.h>

#include <fstream>

#include "moto_s3_process.h"
#include "scoped_env.h"
#include "test_support.h"
#include "trainer/core/argument_spec.h"

namespace trainer {
namespace {

namespace fs = std::filesystem;

S3Settings local_settings(const testing::MotoS3Process& server) {
  S3Settings s;
  s.endpoint_url = server.url();
  s.credentials = {server.access_key(), server.secret_key(), ""};
  return s;
}

TEST(S3Client, MultipartUploadListGetDelete) {
  testing::TempDir tmp;
  testing::MotoS3Process server(tmp.path() / "s3", "bkt");
  S3Settings settings = local_settings(server);
  settings.multipart_threshold = 6u << 20;
  settings.part_size = 5u << 20;  // S3's smallest: three parts for 12 MiB and a bit
  S3Client client(settings);
  std::string big(12u << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
  big += "tail";
  std::ofstream(tmp.path() / "big.bin", std::ios::binary) << big;
  const HttpResponse put = client.put_object("bkt", "run/checkpoint-1/model.safetensors", tmp.path() / "big.bin");
  ASSERT_TRUE(put.ok()) << put.status << " " << put.error << " " << put.body;
  EXPECT_EQ(server.object("run/checkpoint-1/model.safetensors"), big);
  ASSERT_TRUE(client.put_bytes("bkt", "run/latest checkpoint", "checkpoint-1").ok());  // a key to encode
  ASSERT_TRUE(client.put_bytes("bkt", "other/x", "y").ok());

  HttpResponse failed;
  const auto listed = client.list_objects("bkt", "run/", &failed);
  ASSERT_EQ(failed.status, 0) << failed.body;
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].key, "run/checkpoint-1/model.safetensors");
  EXPECT_EQ(listed[0].size, big.size());
  EXPECT_EQ(listed[1].key, "run/latest checkpoint");

  ASSERT_TRUE(client.get_object("bkt", "run/latest checkpoint", tmp.path() / "got").ok());
  EXPECT_EQ(testing::read_file(tmp.path() / "got"), "checkpoint-1");
  ASSERT_TRUE(client.delete_object("bkt", "run/latest checkpoint").ok());
  EXPECT_EQ(client.get_object("bkt", "run/latest checkpoint", tmp.path() / "gone").status, 404);
  EXPECT_FALSE(fs::exists(tmp.path() / "gone"));
}

TEST(S3Client, AnUnknownKeyOrAWrongSecretIsRefused) {
  testing::TempDir tmp;
  testing::MotoS3Process server(tmp.path() / "s3", "bkt");
  S3Settings settings = local_settings(server);
  settings.credentials = {"NOT-A-KEY", "whatever", ""};
  const HttpResponse unknown = S3Client(settings).put_bytes("bkt", "k", "v");
  EXPECT_EQ(unknown.status, 403);
  settings.credentials = {server.access_key(), "not-the-secret", ""};
  const HttpResponse forged = S3Client(settings).put_bytes("bkt", "k", "v");
  EXPECT_EQ(forged.status, 403);
  EXPECT_NE(forged.body.find("SignatureDoesNotMatch"), std::string::npos) << forged.body;
  EXPECT_EQ(server.object("k"), "");
}

TEST(S3Settings, TheVariablesAreReadAndCheckedByName) {
  testing::ScopedEnv env;
  env.set("AWS_ENDPOINT_URL", "http://127.0.0.1:9000/")
      .set("AWS_DEFAULT_REGION", "eu-west-3")
      .set("AWS_ACCESS_KEY_ID", "AK")
      .set("AWS_SECRET_ACCESS_KEY", "SK")
      .unset("AWS_REGION")
      .unset("AWS_ENDPOINT_URL_S3")
      .unset("AWS_SESSION_TOKEN");
  const S3Settings s = S3Settings::from_environment();
  EXPECT_EQ(s.endpoint_url, "http://127.0.0.1:9000");
  EXPECT_EQ(s.region, "eu-west-3");
  env.set("AWS_REGION", "us-west-2");
  EXPECT_EQ(S3Settings::from_environment().region, "us-west-2");
  env.unset("AWS_SECRET_ACCESS_KEY");
  EXPECT_THROW(S3Settings::from_environment(), ArgumentError);
  env.set("AWS_SECRET_ACCESS_KEY", "SK").set("AWS_ENDPOINT_URL", "minio:9000");
  EXPECT_THROW(S3Settings::from_environment(), ArgumentError);
  EXPECT_EQ(S3Location::parse("s3://bucket/a/b").key, "a/b");
  EXPECT_THROW(S3Location::parse("s3:///a"), ArgumentError);
  EXPECT_THROW(S3Location::parse("gs://bucket"), ArgumentError);
}

}  // namespace
}  // namespace trainer
