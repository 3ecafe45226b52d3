#pragma once
// A small HTTP/1.1 server on 127.0.0.1 for tests of the remote trackers, with the faults a real
// service shows: down (connections refused, open ones dropped), slow answers, error statuses with
// Retry-After, connections reset in the middle of a request, and answers lost after the request was
// handled (the client cannot tell whether it took effect).

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace trainer::testing {

struct ReceivedRequest {
  std::string method;
  std::string target;                          // path and query, as sent
  std::string path;                            // without the query
  std::map<std::string, std::string> query;    // decoded
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

struct TestResponse {
  int status = 200;
  std::string body = "{}";
  std::string content_type = "application/json";
  std::map<std::string, std::string> headers;
};

struct Faults {
  int latency_ms = 0;  // before each answer
  int fail_next = 0;   // this many requests answered with fail_status (not handled)
  int fail_status = 500;
  int retry_after_s = -1;        // >= 0: a Retry-After header on those answers
  int reset_next = 0;            // this many requests: connection reset after the headers, not handled
  int reject_next = 0;           // this many requests answered 400 INVALID_PARAMETER_VALUE (not handled) ...
  std::string reject_path;       // ... counting only those whose path contains this, when set
  int lose_answer_next = 0;      // this many requests handled, then the connection reset instead of the answer ...
  std::string lose_answer_path;  // ... counting only those whose path contains this, when set
};

class HttpTestServer {
 public:
  using Handler = std::function<TestResponse(const ReceivedRequest&)>;
  // port 0: any free port.
  explicit HttpTestServer(Handler handler, int port = 0);
  ~HttpTestServer();

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Down: the listening socket closes and open connections are dropped; up again on the same port.
  void set_down(bool down);
  // Down now, up again after `duration` (from a background thread).
  void down_for(std::chrono::milliseconds duration);
  void set_faults(const Faults& faults);
  Faults faults() const;
  // Requests that reached the handler.
  std::vector<ReceivedRequest> handled() const;
  int64_t connections() const { return connections_.load(); }

 private:
  void open_listener();
  void close_listener();
  void accept_loop();
  void serve(int fd);
  bool apply_faults(int fd, TestResponse& response);

  Handler handler_;
  int port_ = 0;
  std::atomic<int> listen_fd_{-1};
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> connections_{0};
  mutable std::mutex mutex_;
  Faults faults_;
  std::vector<ReceivedRequest> handled_;
  std::vector<int> client_fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
  std::thread reopener_;
};

std::string url_decode(const std::string& text);

}  // namespace trainer::testing
