#pragma once
// The faults every remote tracker's tests inject into its mock server (the list): down for
// a while, HTTP 5xx, 429 with Retry-After, slow answers, connections reset mid-request. For
// INSTANTIATE_TEST_SUITE_P(Faults, SomeFaultTest, ::testing::ValuesIn(standard_fault_cases()), fault_case_name).

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "http_test_server.h"

namespace trainer::testing {

struct FaultCase {
  const char* name;
  std::function<void(HttpTestServer&)> inject;
};

// `slow_ms`: the latency of the slow case (per request: trackers that send one item per request
// need less to show the same).
inline std::vector<FaultCase> standard_fault_cases(int slow_ms = 1000) {
  using namespace std::chrono_literals;
  auto with = [](auto set) {
    return [set](HttpTestServer& s) {
      Faults f;
      set(f);
      s.set_faults(f);
    };
  };
  return {
      {"DownAtStart", [](HttpTestServer& s) { s.down_for(1500ms); }},
      {"Http500s", with([](Faults& f) { f.fail_next = 4; })},
      {"TooManyRequestsWithRetryAfter", with([](Faults& f) { f.fail_next = 2; f.fail_status = 429; f.retry_after_s = 1; })},
      {"SlowAnswers", with([slow_ms](Faults& f) { f.latency_ms = slow_ms; })},
      {"ConnectionResetMidRequest", with([](Faults& f) { f.reset_next = 3; })},
  };
}

template <typename Info>
std::string fault_case_name(const Info& info) {
  return info.param.name;
}

}  // namespace trainer::testing
