#pragma once
// Where this process sits in a data-parallel job, from the variables that torchrun (or whoever
// launches the job) sets: RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT,
// TORCHELASTIC_RESTART_COUNT and TORCHELASTIC_USE_AGENT_STORE. Without them: rank 0 of 1.

#include <cstdint>
#include <string>

namespace trainer {

struct ProcessInfo {
  int64_t rank = 0;
  int64_t local_rank = 0;
  int64_t world_size = 1;
  int64_t local_world_size = 1;
  std::string master_addr;  // where the rendezvous store listens (needed when world_size > 1)
  int64_t master_port = 0;
  int64_t restart_count = 0;  // torchrun's restarts of this job so far
  // torchrun's agent already serves the store: every rank, rank 0 included, connects as a client.
  bool agent_store = false;

  bool is_world_process_zero() const { return rank == 0; }
  bool is_local_process_zero() const { return local_rank == 0; }
  bool distributed() const { return world_size > 1; }
  // "rank 1 of 2" (and "local rank 0" when it differs), for messages.
  std::string describe() const;

  // Throws ArgumentError (exit status 2 in the program) naming the variable that is not a valid
  // number, is out of range, or is missing in a job of several processes.
  static ProcessInfo from_environment();
};

}  // namespace trainer
