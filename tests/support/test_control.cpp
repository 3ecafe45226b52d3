#include "test_control.h"

#include <thread>

namespace trainer::testing {

bool handle_test_control(HttpTestServer& server, const ReceivedRequest& request, const std::function<Json()>& state,
                         TestResponse& response) {
  if (request.path == "/__test__/state") {
    response.body = state().dump();
    return true;
  }
  if (request.path != "/__test__/fault") return false;
  const Json f = Json::parse(request.body);
  Faults faults;
  faults.latency_ms = f.value("latency_ms", 0);
  faults.fail_next = f.value("fail_next", 0);
  faults.fail_status = f.value("fail_status", 500);
  faults.retry_after_s = f.value("retry_after_s", -1);
  faults.reset_next = f.value("reset_next", 0);
  faults.reject_next = f.value("reject_next", 0);
  faults.reject_path = f.value("reject_path", std::string());
  server.set_faults(faults);
  if (const int ms = f.value("down_for_ms", 0); ms > 0)
    std::thread([&server, ms] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // after this answer is out
      server.down_for(std::chrono::milliseconds(ms));
    }).detach();
  response.body = "{}";
  return true;
}

}  // namespace trainer::testing
