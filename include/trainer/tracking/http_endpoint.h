#pragma once
// HttpEndpoint: what every HTTP endpoint of a remote tracker repeats. It holds the one HttpClient
// on the service's connection (HttpOptions: base timeouts, TLS, credentials, built once from the
// service's settings), and set_aborted() reaches the request in flight, so the sender can end a
// run on time. An endpoint derives from it and implements send(), run() and restore_run().

#include <utility>

#include "trainer/net/http_client.h"
#include "trainer/tracking/record_sender.h"

namespace trainer {

class HttpEndpoint : public RemoteEndpoint {
 public:
  void set_aborted(bool aborted) override { http_.set_aborted(aborted); }

 protected:
  explicit HttpEndpoint(HttpOptions connection) : http_(std::move(connection)) {}

  HttpClient http_;
};

}  // namespace trainer
