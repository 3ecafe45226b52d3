// HttpClient against a local server: what it sends, connection reuse, and each transport failure
// as a response (status 0), never an exception; nothing secret in what it describes.
#include "trainer/net/http_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "http_test_server.h"
#include "trainer/core/json.h"

namespace trainer {
namespace {

using namespace std::chrono_literals;
using testing::HttpTestServer;
using testing::ReceivedRequest;
using testing::TestResponse;

HttpTestServer echo_server() {
  return HttpTestServer([](const ReceivedRequest& r) {
    TestResponse out;
    out.body = Json{{"method", r.method},
                    {"path", r.path},
                    {"body", r.body},
                    {"authorization", r.headers.count("authorization") ? r.headers.at("authorization") : ""},
                    {"content_type", r.headers.count("content-type") ? r.headers.at("content-type") : ""}}
                   .dump();
    out.headers["Retry-After"] = "7";
    return out;
  });
}

TEST(HttpClientTest, SendsMethodBodyHeadersAndAuthorization) {
  HttpTestServer server = echo_server();
  HttpOptions options;
  options.authorization = "Bearer t0ken";
  HttpClient client(options);
  HttpRequest request;
  request.method = "POST";
  request.url = server.url() + "/api/x?y=1";
  request.headers.emplace_back("Content-Type", "application/json");
  request.body = R"({"a": 1})";
  const HttpResponse response = client.send(request);
  ASSERT_EQ(response.status, 200) << response.error;
  const Json echoed = Json::parse(response.body);
  EXPECT_EQ(echoed["method"], "POST");
  EXPECT_EQ(echoed["path"], "/api/x");
  EXPECT_EQ(echoed["body"], R"({"a": 1})");
  EXPECT_EQ(echoed["authorization"], "Bearer t0ken");
  EXPECT_EQ(echoed["content_type"], "application/json");
  EXPECT_EQ(response.retry_after(), std::chrono::milliseconds(7000));
}

TEST(HttpClientTest, KeepsTheConnectionOpenAcrossRequests) {
  HttpTestServer server = echo_server();
  HttpClient client;
  for (int i = 0; i < 5; ++i) ASSERT_EQ(client.send({"GET", server.url() + "/", {}, "", ""}).status, 200);
  EXPECT_EQ(server.connections(), 1);
}

TEST(HttpClientTest, TransportFailuresAreResponsesWithStatusZero) {
  HttpTestServer server = echo_server();
  HttpOptions options;
  options.request_timeout = 300ms;
  HttpClient client(options);

  testing::Faults reset;
  reset.reset_next = 1;
  server.set_faults(reset);
  HttpResponse r = client.send({"POST", server.url() + "/x", {}, "body", ""});
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.error.empty());
  EXPECT_EQ(client.send({"GET", server.url() + "/", {}, "", ""}).status, 200);  // and recovers

  testing::Faults slow;
  slow.latency_ms = 2000;
  server.set_faults(slow);
  const auto start = std::chrono::steady_clock::now();
  r = client.send({"GET", server.url() + "/", {}, "", ""});
  EXPECT_EQ(r.status, 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
  server.set_faults({});

  server.set_down(true);
  r = client.send({"GET", server.url() + "/", {}, "", ""});
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.error.empty());
}

// The server handles a request on a kept-alive connection and resets it instead of answering.
// libcurl then sends the request again on a new connection (it cannot tell this from a server
// that closed an idle connection): fine for a read, a second create for a create. A request
// marked Repeat::harmful goes on a fresh connection and reaches the server once.
TEST(HttpClientTest, ARequestWhoseRepeatIsHarmfulIsNotSentAgainByLibcurl) {
  HttpTestServer server = echo_server();
  HttpClient client;
  testing::Faults lose;
  lose.lose_answer_next = 1;
  lose.lose_answer_path = "/create";
  auto creates = [&] {
    int n = 0;
    for (const auto& r : server.handled()) n += r.path == "/create";
    return n;
  };
  ASSERT_EQ(client.send({"GET", server.url() + "/warm", {}, "", ""}).status, 200);  // a connection to reuse
  server.set_faults(lose);
  EXPECT_EQ(client.send({"POST", server.url() + "/create", {}, "{}", ""}).status, 200);
  EXPECT_EQ(creates(), 2) << "libcurl no longer re-sends on a reused connection: Repeat::harmful may be unneeded";

  server.set_faults(lose);
  HttpRequest once{"POST", server.url() + "/create", {}, "{}", ""};
  once.repeat = Repeat::harmful;
  const HttpResponse r = client.send(once);
  EXPECT_EQ(r.status, 0) << "the lost answer is the caller's to handle";
  EXPECT_EQ(creates(), 3);
  EXPECT_EQ(client.send({"GET", server.url() + "/after", {}, "", ""}).status, 200);
}

TEST(HttpClientTest, AbortEndsARequestInFlight) {
  HttpTestServer server = echo_server();
  testing::Faults slow;
  slow.latency_ms = 3000;
  server.set_faults(slow);
  HttpClient client;
  std::thread aborter([&] {
    std::this_thread::sleep_for(200ms);
    client.set_aborted(true);
  });
  const auto start = std::chrono::steady_clock::now();
  const HttpResponse r = client.send({"GET", server.url() + "/", {}, "", ""});
  aborter.join();
  EXPECT_EQ(r.error, "aborted");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  client.set_aborted(false);
  server.set_faults({});
  EXPECT_EQ(client.send({"GET", server.url() + "/", {}, "", ""}).status, 200);
}

TEST(HttpClientTest, RetryAfterAsAnHttpDate) {
  HttpResponse r;
  r.headers["retry-after"] = "Wed, 21 Oct 2015 07:28:00 GMT";  // in the past: retry now
  EXPECT_EQ(r.retry_after(), std::chrono::milliseconds(0));
  r.headers["retry-after"] = "soon";
  EXPECT_FALSE(r.retry_after().has_value());
}

TEST(HttpClientTest, DescriptionsCarryNoSecrets) {
  EXPECT_EQ(url_without_secrets("https://user:pw@host:5000/api?token=abc&b=2"),
            "https://host:5000/api?token=...&b=...");
  EXPECT_EQ(describe_request({"PUT", "http://u:p@h/x", {}, "", ""}), "PUT http://h/x");
  EXPECT_EQ(basic_authorization("Aladdin", "open sesame"), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  EXPECT_EQ(url_encode("a b/c~"), "a%20b%2Fc~");
}

}  // namespace
}  // namespace trainer
