// The mock services as a program, for the command-line tests and bench/:
//   mock_tracking_server --service mlflow|wandb|comet|clearml [--port-file F] [--port N] [--auth 'Basic ...']
//   [--state-file S]
//                        [--request-log L]
// Writes its port to F once listening; on SIGTERM writes its state (GET /__test__/state) to S and
// every request it handled to L, one JSON line each ({method, target, content_type, body}; a body
// that is not JSON as {"bytes": N}): what scripts/compare-report-to-all.sh compares.
// POST /__test__/fault injects faults (test_control.h).
#include <signal.h>

#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "mock_clearml_server.h"
#include "mock_comet_server.h"
#include "mock_mlflow_server.h"
#include "mock_wandb_server.h"

namespace {

struct Service {
  std::shared_ptr<void> server;
  int port = 0;
  std::function<trainer::Json()> state;
  std::function<std::vector<trainer::testing::ReceivedRequest>()> requests;
};

trainer::Json request_line(const trainer::testing::ReceivedRequest& r) {
  const auto type = r.headers.find("content-type");
  const std::string content_type = type == r.headers.end() ? "" : type->second;
  trainer::Json body;
  try {
    if (content_type.rfind("application/json-lines", 0) == 0) {  // ClearML's event batches: one JSON per line
      body = trainer::Json::array();
      std::istringstream lines(r.body);
      for (std::string line; std::getline(lines, line);)
        if (!line.empty()) body.push_back(trainer::Json::parse(line));
    } else {
      body = r.body.empty() ? trainer::Json() : trainer::Json::parse(r.body);
    }
  } catch (const std::exception&) {
    body = trainer::Json{{"bytes", r.body.size()}};
  }
  return {{"method", r.method}, {"target", r.target}, {"content_type", content_type}, {"body", body}};
}

template <typename Server>
Service start(const std::string& auth, int port) {
  auto server = std::make_shared<Server>(auth, port);
  return {server, server->http().port(), [server] { return server->state_json(); },
          [server] { return server->http().handled(); }};
}

}  // namespace

int main(int argc, char** argv) {
  std::string service = "mlflow", port_file, auth, state_file, request_log;
  int port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--service")
      service = value;
    else if (flag == "--port-file")
      port_file = value;
    else if (flag == "--port")
      port = std::stoi(value);
    else if (flag == "--auth")
      auth = value;
    else if (flag == "--state-file")
      state_file = value;
    else if (flag == "--request-log")
      request_log = value;
    else {
      std::cerr << "mock_tracking_server: unknown flag " << flag << "\n";
      return 2;
    }
  }
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts
  Service s;
  if (service == "mlflow")
    s = start<trainer::testing::MockMlflowServer>(auth, port);
  else if (service == "wandb")
    s = start<trainer::testing::MockWandbServer>(auth, port);
  else if (service == "comet")
    s = start<trainer::testing::MockCometServer>(auth, port);
  else if (service == "clearml")
    s = start<trainer::testing::MockClearMLServer>(auth, port);
  else {
    std::cerr << "mock_tracking_server: --service must be mlflow, wandb, comet or clearml, got " << service << "\n";
    return 2;
  }
  if (!port_file.empty()) {
    std::ofstream(port_file + ".tmp") << s.port << "\n";
    std::rename((port_file + ".tmp").c_str(), port_file.c_str());
  }
  int received = 0;
  sigwait(&signals, &received);
  if (!state_file.empty()) std::ofstream(state_file) << trainer::dump_json(s.state(), {2, false, false}) << "\n";
  if (!request_log.empty()) {
    std::ofstream log(request_log);
    for (const auto& r : s.requests()) log << request_line(r).dump() << "\n";
  }
  return 0;
}
