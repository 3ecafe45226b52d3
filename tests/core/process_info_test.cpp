#include "trainer/core/process_info.h"

#include <cstdlib>

#include <gtest/gtest.h>

#include "trainer/core/argument_spec.h"

namespace trainer {
namespace {

const char* const kLaunchVariables[] = {"RANK",
                                        "LOCAL_RANK",
                                        "WORLD_SIZE",
                                        "LOCAL_WORLD_SIZE",
                                        "MASTER_ADDR",
                                        "MASTER_PORT",
                                        "TORCHELASTIC_RESTART_COUNT",
                                        "TORCHELASTIC_USE_AGENT_STORE"};

// Each test starts and ends without the launcher's variables.
class ProcessInfoTest : public ::testing::Test {
 protected:
  void SetUp() override { clear(); }
  void TearDown() override { clear(); }
  static void clear() {
    for (const char* name : kLaunchVariables) ::unsetenv(name);
  }
  static void set_two_ranks(const char* rank) {
    ::setenv("RANK", rank, 1);
    ::setenv("WORLD_SIZE", "2", 1);
    ::setenv("MASTER_ADDR", "127.0.0.1", 1);
    ::setenv("MASTER_PORT", "29500", 1);
  }
};

TEST_F(ProcessInfoTest, WithoutVariablesIsRankZeroOfOne) {
  auto p = ProcessInfo::from_environment();
  EXPECT_TRUE(p.is_world_process_zero());
  EXPECT_FALSE(p.distributed());
  EXPECT_EQ(p.world_size, 1);
  EXPECT_EQ(p.local_world_size, 1);
}

TEST_F(ProcessInfoTest, ReadsTheLaunchersVariables) {
  set_two_ranks("1");
  ::setenv("LOCAL_RANK", "0", 1);
  ::setenv("LOCAL_WORLD_SIZE", "1", 1);
  ::setenv("TORCHELASTIC_RESTART_COUNT", "3", 1);
  ::setenv("TORCHELASTIC_USE_AGENT_STORE", "True", 1);
  auto p = ProcessInfo::from_environment();
  EXPECT_FALSE(p.is_world_process_zero());
  EXPECT_TRUE(p.is_local_process_zero());
  EXPECT_TRUE(p.distributed());
  EXPECT_EQ(p.master_addr, "127.0.0.1");
  EXPECT_EQ(p.master_port, 29500);
  EXPECT_EQ(p.restart_count, 3);
  EXPECT_TRUE(p.agent_store);
  EXPECT_EQ(p.describe(), "rank 1 of 2 (local rank 0)");
}

TEST_F(ProcessInfoTest, LocalRankDefaultsToRank) {
  set_two_ranks("1");
  auto p = ProcessInfo::from_environment();
  EXPECT_EQ(p.local_rank, 1);
  EXPECT_FALSE(p.agent_store);
  EXPECT_EQ(p.describe(), "rank 1 of 2");
}

TEST_F(ProcessInfoTest, BadValuesNameTheVariable) {
  auto message = [] {
    try {
      ProcessInfo::from_environment();
    } catch (const ArgumentError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  set_two_ranks("x");
  EXPECT_NE(message().find("RANK='x'"), std::string::npos);
  set_two_ranks("2");
  EXPECT_NE(message().find("RANK=2 must be below WORLD_SIZE=2"), std::string::npos);
  set_two_ranks("1");
  ::unsetenv("MASTER_ADDR");
  EXPECT_NE(message().find("MASTER_ADDR is not set"), std::string::npos);
  set_two_ranks("1");
  ::setenv("MASTER_PORT", "70000", 1);
  EXPECT_NE(message().find("MASTER_PORT must be a port number"), std::string::npos);
}

}  // namespace
}  // namespace trainer
