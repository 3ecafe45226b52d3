#include "trainer/core/background_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <vector>

#include "test_support.h"

namespace trainer {
namespace {

TEST(BackgroundWriter, RunsJobsInOrderAndDrains) {
  std::vector<int> done;
  BackgroundWriter w("test");
  for (int i = 0; i < 100; ++i) w.enqueue([&done, i] { done.push_back(i); });
  w.drain();
  ASSERT_EQ(done.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(done[i], i);
}

TEST(BackgroundWriter, AFullQueueMakesTheCallerWaitInsteadOfDropping) {
  std::atomic<int> ran{0};
  BackgroundWriter w("test", /*capacity=*/1);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 4; ++i)
    w.enqueue([&ran] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      ++ran;
    });
  // Four 50 ms jobs through a queue of one: the fourth enqueue returns only once two have finished.
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(90));
  w.drain();
  EXPECT_EQ(ran.load(), 4);
}

TEST(BackgroundWriter, FailuresAreReportedOnceAndTheWriterGoesOn) {
  testing::CapturedLogs logs;
  int ok = 0;
  {
    BackgroundWriter w("tracker");
    for (int i = 0; i < 3; ++i) w.enqueue([] { throw std::runtime_error("disk full"); });
    w.enqueue([&ok] { ++ok; });
    w.drain();
    EXPECT_EQ(w.failures(), 3);
  }
  EXPECT_EQ(ok, 1);
  ASSERT_EQ(logs.messages.size(), 1u);
  EXPECT_NE(logs.messages[0].find("tracker: disk full"), std::string::npos);
}

}  // namespace
}  // namespace trainer
