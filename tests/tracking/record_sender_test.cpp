// RecordSender: every record delivered once, in order, whatever the endpoint answers; memory
// bounded; the end of a run bounded in time; the journal continued by a later process.
#include "trainer/tracking/record_sender.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <thread>

#include "scripted_endpoint.h"
#include "test_support.h"
#include "trainer/net/http_client.h"

namespace trainer {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

using testing::fast_options;
using testing::ScriptedEndpoint;

std::vector<int64_t> one_to(int64_t n) {
  std::vector<int64_t> v;
  for (int64_t i = 1; i <= n; ++i) v.push_back(i);
  return v;
}

class RecordSenderTest : public ::testing::Test {
 protected:
  testing::TempDir tmp;
  fs::path dir() const { return tmp.path() / "tracking" / "fake"; }
};

TEST_F(RecordSenderTest, DeliversEveryRecordOnceInOrderAndBatches) {
  auto endpoint = std::make_unique<ScriptedEndpoint>();
  ScriptedEndpoint* ep = endpoint.get();
  RecordSender sender("fake", dir(), std::move(endpoint), fast_options());
  for (int i = 0; i < 250; ++i) sender.submit("metrics", Json{{"i", i}});
  const SenderReport report = sender.finish(5s);
  EXPECT_EQ(report.unsent, 0);
  EXPECT_EQ(report.submitted, 250);
  EXPECT_EQ(ep->delivered_seqs(), one_to(250));
  EXPECT_LT(ep->calls.size(), 250u);  // batched
  const JournalSummary journal = RecordJournal::summarize(sender.journal_path());
  EXPECT_EQ(journal.last_seq, 250);
  EXPECT_EQ(journal.acked, 250);
  EXPECT_EQ(journal.run["run_id"], "r-1");
}

TEST_F(RecordSenderTest, RetriesWithBackoffAndHonoursRetryAfter) {
  auto endpoint = std::make_unique<ScriptedEndpoint>();
  ScriptedEndpoint* ep = endpoint.get();
  std::atomic<int> call{0};
  ep->answer = [&](const std::vector<TrackingRecord>& p) -> Delivery {
    const int n = call++;
    if (n == 0) return {Delivery::Kind::retry, p.size(), "HTTP 503", std::nullopt};
    if (n == 1) return {Delivery::Kind::retry, p.size(), "HTTP 429", std::chrono::milliseconds(400)};
    return Delivery::delivered(p.size());
  };
  testing::CapturedLogs logs;
  RecordSender sender("fake", dir(), std::move(endpoint), fast_options());
  for (int i = 0; i < 10; ++i) sender.submit("metrics", Json{{"i", i}});
  EXPECT_EQ(sender.finish(5s).unsent, 0);
  EXPECT_EQ(ep->delivered_seqs(), one_to(10));
  ASSERT_EQ(ep->calls.size(), 3u);
  EXPECT_GE(ep->calls[1] - ep->calls[0], 5ms);    // backoff: at least half of 10 ms
  EXPECT_GE(ep->calls[2] - ep->calls[1], 400ms);  // the server's Retry-After
  EXPECT_TRUE(logs.contains("HTTP 503; retrying in the background"));
  EXPECT_TRUE(logs.contains("answers again"));
}

TEST_F(RecordSenderTest, RejectedRecordsAreIsolatedKeptAsideAndReportedOnce) {
  auto endpoint = std::make_unique<ScriptedEndpoint>();
  ScriptedEndpoint* ep = endpoint.get();
  ep->answer = [](const std::vector<TrackingRecord>& p) -> Delivery {
    for (size_t i = 0; i < p.size(); ++i)
      if (p[i].body.value("bad", false))
        return {Delivery::Kind::rejected, p.size(), "HTTP 400 INVALID_PARAMETER_VALUE: bad key", std::nullopt};
    return Delivery::delivered(p.size());
  };
  testing::CapturedLogs logs;
  RecordSender sender("fake", dir(), std::move(endpoint), fast_options());
  for (int i = 0; i < 20; ++i) sender.submit("metrics", Json{{"i", i}, {"bad", i == 7 || i == 13}});
  const SenderReport report = sender.finish(5s);
  EXPECT_EQ(report.unsent, 0);
  EXPECT_EQ(report.rejected, 2);
  std::vector<int64_t> expected;
  for (int64_t s = 1; s <= 20; ++s)
    if (s != 8 && s != 14) expected.push_back(s);
  EXPECT_EQ(ep->delivered_seqs(), expected);
  std::ifstream rejected(sender.rejected_path());
  std::string line;
  std::vector<int64_t> rejected_seqs;
  while (std::getline(rejected, line)) {
    const Json j = Json::parse(line);
    rejected_seqs.push_back(j["record"]["seq"]);
    EXPECT_EQ(j["error"], "HTTP 400 INVALID_PARAMETER_VALUE: bad key");
  }
  EXPECT_EQ(rejected_seqs, (std::vector<int64_t>{8, 14}));
  int reports = 0;
  for (const auto& m : logs.messages) reports += m.find("bad key") != std::string::npos;
  EXPECT_EQ(reports, 1);
}

TEST_F(RecordSenderTest, BlockedKeepsEverythingAndALaterProcessSendsItExactlyOnce) {
  {
    auto endpoint = std::make_unique<ScriptedEndpoint>();
    endpoint->answer = [](const std::vector<TrackingRecord>& p) -> Delivery {
      return {Delivery::Kind::blocked, p.size(), "HTTP 401 bad credentials", std::nullopt};
    };
    SenderOptions o = fast_options();
    o.resend_command = "trainer sync out";
    testing::CapturedLogs logs;
    RecordSender sender("fake", dir(), std::move(endpoint), o);
    for (int i = 0; i < 30; ++i) sender.submit("metrics", Json{{"i", i}});
    const auto start = Clock::now();
    EXPECT_EQ(sender.finish(10s).unsent, 30);
    EXPECT_LT(Clock::now() - start, 2s);  // blocked: no waiting out the budget
    EXPECT_TRUE(logs.contains("trainer sync out"));
  }
  {
    auto endpoint = std::make_unique<ScriptedEndpoint>();
    ScriptedEndpoint* ep = endpoint.get();
    RecordSender later("fake", dir(), std::move(endpoint), fast_options());
    EXPECT_EQ(later.finish(5s).unsent, 0);
    EXPECT_EQ(ep->delivered_seqs(), one_to(30));
  }
  // And a third process (once the second has ended) finds nothing left to send.
  auto third = std::make_unique<ScriptedEndpoint>();
  ScriptedEndpoint* ep3 = third.get();
  RecordSender again("fake", dir(), std::move(third), fast_options());
  EXPECT_EQ(again.finish(1s).unsent, 0);
  EXPECT_TRUE(ep3->calls.empty());
  EXPECT_EQ(ep3->restored["run_id"], "r-1");  // the run identity travels with the journal
}

TEST_F(RecordSenderTest, MemoryStaysBoundedWhileTheServiceIsDownAndNothingIsLost) {
  auto endpoint = std::make_unique<ScriptedEndpoint>();
  ScriptedEndpoint* ep = endpoint.get();
  std::atomic<bool> down{true};
  ep->answer = [&](const std::vector<TrackingRecord>& p) -> Delivery {
    if (down) return {Delivery::Kind::retry, p.size(), "connection refused", std::nullopt};
    return Delivery::delivered(std::min<size_t>(p.size(), 7));
  };
  SenderOptions o = fast_options();
  o.max_records_in_memory = 50;
  RecordSender sender("fake", dir(), std::move(endpoint), o);
  for (int i = 0; i < 2000; ++i) sender.submit("metrics", Json{{"i", i}});
  std::this_thread::sleep_for(50ms);
  down = false;
  EXPECT_EQ(sender.finish(20s).unsent, 0);
  EXPECT_EQ(ep->delivered_seqs(), one_to(2000));
  EXPECT_LE(ep->largest_offer, 50u);  // never more than the bound in memory
}

TEST_F(RecordSenderTest, SubmitNeverWaitsOnASlowService) {
  auto endpoint = std::make_unique<ScriptedEndpoint>();
  endpoint->delay = 2s;
  RecordSender sender("fake", dir(), std::move(endpoint), fast_options());
  const auto start = Clock::now();
  for (int i = 0; i < 200; ++i) {
    sender.submit("metrics", Json{{"i", i}});
    if (i == 0) std::this_thread::sleep_for(20ms);  // the first send is now in flight
  }
  EXPECT_LT(Clock::now() - start, 500ms);
  sender.finish(0ms);
}

TEST_F(RecordSenderTest, FinishIsBoundedAndLeavesTheRestInTheJournal) {
  auto endpoint = std::make_unique<ScriptedEndpoint>();
  endpoint->delay = 60s;  // a server that never answers
  RecordSender sender("fake", dir(), std::move(endpoint), fast_options());
  for (int i = 0; i < 5; ++i) sender.submit("metrics", Json{{"i", i}});
  const auto start = Clock::now();
  const SenderReport report = sender.finish(300ms);
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_EQ(report.unsent, 5);
  EXPECT_EQ(RecordJournal::summarize(sender.journal_path()).last_seq, 5);
}

TEST_F(RecordSenderTest, SyncJournalPutsEverySubmittedRecordOnDisk) {
  auto endpoint = std::make_unique<ScriptedEndpoint>();
  endpoint->delay = 60s;
  RecordSender sender("fake", dir(), std::move(endpoint), fast_options());
  for (int i = 0; i < 3; ++i) sender.submit("metrics", Json{{"i", i}});
  sender.sync_journal();
  EXPECT_EQ(RecordJournal::summarize(sender.journal_path()).last_seq, 3);
  sender.finish(0ms);
}

TEST(RecordJournalTest, ATornLastLineIsSkippedAndADamagedLineIsNamed) {
  testing::TempDir tmp;
  const fs::path path = tmp.path() / "journal.jsonl";
  {
    RecordJournal journal(path);
    journal.append({1, "metrics", Json{{"a", 1}}});
    journal.append({2, "metrics", Json{{"a", 2}}});
    journal.append_acked(1);
    journal.flush();
  }
  std::ofstream(path, std::ios::app) << R"({"record": {"seq": 3, "ty)";  // a crash mid-write
  JournalSummary s = RecordJournal::summarize(path);
  EXPECT_EQ(s.last_seq, 2);
  EXPECT_EQ(s.acked, 1);
  std::ofstream(path, std::ios::app) << "\n"
                                     << R"({"acked": 2})"
                                     << "\n";
  try {
    RecordJournal::summarize(path);
    FAIL() << "a damaged line in the middle must be reported";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("journal.jsonl:4"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace trainer

namespace trainer {
namespace {

TEST(RecordJournalLock, ASecondWriterIsRefusedUntilTheFirstIsGone) {
  testing::TempDir tmp;
  const auto path = tmp.path() / "journal.jsonl";
  {
    RecordJournal first(path);
    first.append(TrackingRecord{1, "metrics", Json{{"step", 1}}});
    first.flush();
    try {
      RecordJournal second(path);
      FAIL() << "two writers on one journal";
    } catch (const JournalInUse& e) {
      EXPECT_NE(std::string(e.what()).find("is in use by another process"), std::string::npos);
    }
  }
  RecordJournal again(path);  // the first writer is gone (a process that ended or was killed)
  again.append(TrackingRecord{2, "metrics", Json{{"step", 2}}});
  again.flush();
  EXPECT_EQ(RecordJournal::summarize(path).last_seq, 2);
}

}  // namespace
}  // namespace trainer

namespace trainer {
namespace {

// How an HTTP answer decides the sender's next move (the contract in record_sender.h).
TEST(ClassifyResponse, EachAnswerHasItsMove) {
  auto answer = [](long status, std::string error = "", bool needs_configuration = false) {
    HttpResponse r;
    r.status = status;
    r.error = std::move(error);
    r.needs_configuration = needs_configuration;
    return classify_response(r, 3, "svc call").kind;
  };
  using K = Delivery::Kind;
  EXPECT_EQ(answer(200), K::delivered);
  EXPECT_EQ(answer(0, "Connection refused"), K::retry);
  EXPECT_EQ(answer(503), K::retry);
  EXPECT_EQ(answer(429), K::retry);
  EXPECT_EQ(answer(401), K::blocked);
  EXPECT_EQ(answer(400), K::rejected);
  // A certificate not trusted, or a client certificate refused: no retry passes until a setting changes.
  EXPECT_EQ(answer(0, "the server's TLS certificate is not trusted", true), K::blocked);
}

}  // namespace
}  // namespace trainer
