#pragma once
// The faults every remote tracker's tests inject into its mock server (the list): down for
// a while, HTTP 5xx, 429 with Retry-After, slow answers, connections reset mid-request. For
// INSTANTIATE_TEST_SUITE_P(Faults, SomeFaultTest, ::testing::ValuesIn(standard_fault_cases()), fault_case_name).

#include <chrono>
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "http_test_server.h"

namespace trainer::testing {

struct FaultCase {
  const char* name;
  std::function<void(HttpTestServer&)> inject;
};

// GoogleTest prints a parameter into the test's name in ctest ("GetParam() = DownAtStart"): the
// case's name, not its bytes.
inline void PrintTo(const FaultCase& fault, std::ostream* out) { *out << fault.name; }

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
      {"TooManyRequestsWithRetryAfter", with([](Faults& f) {
         f.fail_next = 2;
         f.fail_status = 429;
         f.retry_after_s = 1;
       })},
      {"SlowAnswers", with([slow_ms](Faults& f) { f.latency_ms = slow_ms; })},
      {"ConnectionResetMidRequest", with([](Faults& f) { f.reset_next = 3; })},
  };
}

// The next `n` requests whose path contains `path` (any, when empty) are handled, then the
// connection is reset instead of answered.
inline void lose_answers(HttpTestServer& server, int n, const std::string& path = "") {
  Faults f;
  f.lose_answer_next = n;
  f.lose_answer_path = path;
  server.set_faults(f);
}

// The server handles the first `n` requests and resets the connection instead of answering: a
// client that retries must not make anything twice. For services whose every request repeats
// harmlessly (W&B: the run is upserted by its client-chosen id, history lines go to offsets);
// where a repeat is visible (a metric point posted twice), the trackers' own tests cover creates.
inline FaultCase answers_lost_after_handling(int n = 3) {
  return {"AnswersLostAfterHandling", [n](HttpTestServer& s) { lose_answers(s, n); }};
}

template <typename Info>
std::string fault_case_name(const Info& info) {
  return info.param.name;
}

}  // namespace trainer::testing
