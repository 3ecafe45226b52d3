#include "trainer/core/process_info.h"

#include <cstdlib>

#include "trainer/core/argument_spec.h"

namespace trainer {
namespace {

const char* env_text(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

int64_t env_int(const char* name, int64_t fallback) {
  const char* v = env_text(name);
  if (!v) return fallback;
  char* end = nullptr;
  const long long x = std::strtoll(v, &end, 10);
  if (*end != '\0' || x < 0)
    throw ArgumentError(std::string("environment variable ") + name + "='" + v + "' is not a non-negative integer");
  return x;
}

void check_below(const char* name, int64_t value, const char* bound_name, int64_t bound) {
  if (value < bound) return;
  throw ArgumentError(std::string("environment variable ") + name + "=" + std::to_string(value) + " must be below " +
                      bound_name + "=" + std::to_string(bound));
}

}  // namespace

std::string ProcessInfo::describe() const {
  std::string text = "rank " + std::to_string(rank) + " of " + std::to_string(world_size);
  if (local_rank != rank) text += " (local rank " + std::to_string(local_rank) + ")";
  return text;
}

ProcessInfo ProcessInfo::from_environment() {
  ProcessInfo p;
  p.rank = env_int("RANK", 0);
  p.local_rank = env_int("LOCAL_RANK", p.rank);
  p.world_size = env_int("WORLD_SIZE", 1);
  p.local_world_size = env_int("LOCAL_WORLD_SIZE", p.world_size);
  p.restart_count = env_int("TORCHELASTIC_RESTART_COUNT", 0);
  const char* agent = env_text("TORCHELASTIC_USE_AGENT_STORE");
  p.agent_store = agent && (std::string(agent) == "True" || std::string(agent) == "true" || std::string(agent) == "1");
  if (p.world_size < 1) throw ArgumentError("environment variable WORLD_SIZE must be >= 1");
  check_below("RANK", p.rank, "WORLD_SIZE", p.world_size);
  check_below("LOCAL_RANK", p.local_rank, "LOCAL_WORLD_SIZE", p.local_world_size);
  if (!p.distributed()) return p;
  const char* addr = env_text("MASTER_ADDR");
  if (!addr)
    throw ArgumentError("environment variable MASTER_ADDR is not set, but WORLD_SIZE=" + std::to_string(p.world_size) +
                        ": set it (and MASTER_PORT) to rank 0's host, or launch with torchrun (.venv/bin/torchrun)");
  p.master_addr = addr;
  p.master_port = env_int("MASTER_PORT", -1);
  if (p.master_port < 1 || p.master_port > 65535)
    throw ArgumentError("environment variable MASTER_PORT must be a port number (1-65535) when WORLD_SIZE=" +
                        std::to_string(p.world_size) + ": set it to a free port on rank 0's host, e.g. 29500");
  return p;
}

}  // namespace trainer
