#pragma once
// run_in_killed_process: runs `body` in a child process that then ends with _exit, so no destructor
// runs and nothing is ended or flushed beyond what `body` did, as a process killed with SIGKILL
// leaves things (its journal locks go with it). True when `body` returned normally.

#include <sys/wait.h>
#include <unistd.h>

#include <functional>

namespace trainer::testing {

inline bool run_in_killed_process(const std::function<void()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    try {
      body();
    } catch (...) {
      ::_exit(3);
    }
    ::_exit(0);
  }
  int status = 0;
  return pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace trainer::testing
