#pragma once
// How the project's helper threads (the integrations' writers, the remote trackers' senders) run
// beside training: named "w:<name>" in top, gdb and /proc, so one sees which tracker a thread works
// for, and in the lowest scheduling class, so on a machine with few cores they run on the cycles
// the training threads leave instead of preempting a step. They are not starved: the kernel still
// gives idle-class threads a small share.

#include <string>
#include <thread>

namespace trainer {

void set_background_thread(std::thread& thread, const std::string& name);

}  // namespace trainer
