#pragma once
// The control routes every mock service answers when it runs as a program (mock_tracking_server):
//   GET  /__test__/state  the service's state as JSON
//   POST /__test__/fault  {"latency_ms", "fail_next", "fail_status", "retry_after_s", "reset_next",
//                          "reject_next", "reject_path", "down_for_ms"}: Faults, and down for a while

#include <functional>

#include "http_test_server.h"
#include "trainer/core/json.h"

namespace trainer::testing {

// True when `request` is a control route; `response` is then its answer. `state` is called
// without the caller's lock held.
bool handle_test_control(HttpTestServer& server, const ReceivedRequest& request, const std::function<Json()>& state,
                         TestResponse& response);

}  // namespace trainer::testing
