// The mock MLflow/DagsHub server as a program, for the command-line tests and bench/:
//   mock_mlflow_server --port-file F [--port N] [--auth 'Basic ...'] [--state-file S]
// Writes its port to F once listening; on SIGTERM writes its state (GET /__test__/state) to S.
// POST /__test__/fault {"latency_ms", "fail_next", "fail_status", "retry_after_s", "reset_next",
// "reject_next", "reject_path", "down_for_ms"} injects faults.
#include <signal.h>

#include <fstream>
#include <iostream>
#include <string>

#include "mock_mlflow_server.h"

int main(int argc, char** argv) {
  std::string port_file, auth, state_file;
  int port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--port-file") port_file = value;
    else if (flag == "--port") port = std::stoi(value);
    else if (flag == "--auth") auth = value;
    else if (flag == "--state-file") state_file = value;
    else {
      std::cerr << "mock_mlflow_server: unknown flag " << flag << "\n";
      return 2;
    }
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts
  trainer::testing::MockMlflowServer server(auth, port);
  {
    std::ofstream out(port_file + ".tmp");
    out << server.http().port() << "\n";
  }
  std::rename((port_file + ".tmp").c_str(), port_file.c_str());
  int received = 0;
  sigwait(&signals, &received);
  if (!state_file.empty()) std::ofstream(state_file) << trainer::dump_json(server.state_json(), {2, false, false}) << "\n";
  return 0;
}
