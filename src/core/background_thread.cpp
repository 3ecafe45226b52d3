#include "trainer/core/background_thread.h"

#include <pthread.h>
#include <sched.h>

namespace trainer {

void set_background_thread(std::thread& thread, const std::string& name) {
  pthread_setname_np(thread.native_handle(), ("w:" + name).substr(0, 15).c_str());
  sched_param idle{};
  pthread_setschedparam(thread.native_handle(), SCHED_IDLE, &idle);
}

}  // namespace trainer
