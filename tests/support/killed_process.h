#pragma once
// run_in_killed_process: runs `body` in a child process that then ends with _exit, so no destructor
// runs and nothing is ended or flushed beyond what `body` did, as a process killed with SIGKILL
// leaves things (its journal locks go with it). True when `body` returned normally.

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>

#include "trainer/core/json.h"
#include "trainer/tracking/remote_tracker.h"
#include "trainer/tracking/tracker_callback.h"

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

// A remote tracker's run that logs steps 1..checkpoint, keeps its callback's state there (what a
// checkpoint holds), logs on to `end`, sends everything and is killed before it ends the run.
// Returns that checkpoint state, or null when the child failed. `Run` is a test's driven run:
// Run(output_dir), begin(), steps(from, to), callback.
template <typename Run>
Json checkpoint_state_of_killed_run(const std::filesystem::path& output_dir, int64_t checkpoint, int64_t end) {
  const std::filesystem::path state_file = output_dir.parent_path() / "killed_run_checkpoint_state.json";
  const bool ok = run_in_killed_process([&] {
    Run first(output_dir);
    first.begin();
    first.steps(1, checkpoint);
    std::ofstream(state_file) << std::dynamic_pointer_cast<StatefulTrackerCallback>(first.callback)->state().dump();
    first.steps(checkpoint + 1, end);
    auto* tracker = dynamic_cast<RemoteTracker*>(first.callback->active_tracker());
    if (tracker->sender()->finish(std::chrono::seconds(10)).unsent != 0) throw 1;
  });
  if (!ok) return nullptr;
  std::ifstream in(state_file);
  return Json::parse(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
}

}  // namespace trainer::testing
