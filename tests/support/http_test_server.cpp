#include "http_test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace trainer::testing {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

bool send_all(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

void reset_connection(int fd) {
  linger l{1, 0};  // close with RST, as a crashed proxy or server does
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  ::shutdown(fd, SHUT_RDWR);
}

}  // namespace

std::string url_decode(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += text[i] == '+' ? ' ' : text[i];
    }
  }
  return out;
}

HttpTestServer::HttpTestServer(Handler handler, int port) : handler_(std::move(handler)), port_(port) {
  open_listener();
  acceptor_ = std::thread([this] { accept_loop(); });
}

HttpTestServer::~HttpTestServer() {
  stopping_ = true;
  if (reopener_.joinable()) reopener_.join();
  close_listener();
  acceptor_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (int fd : client_fds_) ::shutdown(fd, SHUT_RDWR);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
}

void HttpTestServer::open_listener() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 64) != 0) {
    ::close(fd);
    throw std::runtime_error("HttpTestServer: cannot listen on 127.0.0.1:" + std::to_string(port_));
  }
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  listen_fd_ = fd;
}

void HttpTestServer::close_listener() {
  const int fd = listen_fd_.exchange(-1);
  if (fd >= 0) {
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
  }
}

void HttpTestServer::set_down(bool down) {
  if (down) {
    close_listener();
    std::lock_guard<std::mutex> lock(mutex_);
    for (int fd : client_fds_) reset_connection(fd);
  } else if (listen_fd_ < 0) {
    open_listener();
  }
}

void HttpTestServer::down_for(std::chrono::milliseconds duration) {
  set_down(true);
  if (reopener_.joinable()) reopener_.join();
  reopener_ = std::thread([this, duration] {
    const auto until = std::chrono::steady_clock::now() + duration;
    while (!stopping_ && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (!stopping_) set_down(false);
  });
}

void HttpTestServer::set_faults(const Faults& faults) {
  std::lock_guard<std::mutex> lock(mutex_);
  faults_ = faults;
}

Faults HttpTestServer::faults() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return faults_;
}

std::vector<ReceivedRequest> HttpTestServer::handled() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return handled_;
}

void HttpTestServer::accept_loop() {
  while (!stopping_) {
    const int listener = listen_fd_.load();
    if (listener < 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    pollfd p{listener, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    const int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) continue;
    ++connections_;
    std::lock_guard<std::mutex> lock(mutex_);
    client_fds_.push_back(fd);
    threads_.emplace_back([this, fd] { serve(fd); });
  }
}

// Reads one request; false when the connection ended.
static bool read_request(int fd, std::string& buffer, ReceivedRequest& request, bool& headers_only_fault_point) {
  size_t header_end;
  char chunk[65536];
  while ((header_end = buffer.find("\r\n\r\n")) == std::string::npos) {
    const ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<size_t>(n));
  }
  const std::string head = buffer.substr(0, header_end);
  buffer.erase(0, header_end + 4);
  size_t line_end = head.find("\r\n");
  const std::string first = head.substr(0, line_end);
  const size_t sp1 = first.find(' '), sp2 = first.rfind(' ');
  request = ReceivedRequest{};
  request.method = first.substr(0, sp1);
  request.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
  const size_t q = request.target.find('?');
  request.path = url_decode(request.target.substr(0, q));
  if (q != std::string::npos) {
    std::string query = request.target.substr(q + 1);
    size_t pos = 0;
    while (pos <= query.size()) {
      size_t amp = query.find('&', pos);
      if (amp == std::string::npos) amp = query.size();
      const std::string pair = query.substr(pos, amp - pos);
      const size_t eq = pair.find('=');
      if (!pair.empty())
        request.query[url_decode(pair.substr(0, eq))] = eq == std::string::npos ? "" : url_decode(pair.substr(eq + 1));
      pos = amp + 1;
    }
  }
  while (line_end != std::string::npos) {
    const size_t next = head.find("\r\n", line_end + 2);
    const std::string line =
        head.substr(line_end + 2, next == std::string::npos ? std::string::npos : next - line_end - 2);
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(value.begin());
      request.headers[lower(line.substr(0, colon))] = value;
    }
    line_end = next;
  }
  headers_only_fault_point = true;
  return true;
}

static bool read_body(int fd, std::string& buffer, ReceivedRequest& request) {
  size_t length = 0;
  if (auto it = request.headers.find("content-length"); it != request.headers.end()) length = std::stoul(it->second);
  char chunk[65536];
  while (buffer.size() < length) {
    const ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<size_t>(n));
  }
  request.body = buffer.substr(0, length);
  buffer.erase(0, length);
  return true;
}

void HttpTestServer::serve(int fd) {
  std::string buffer;
  for (;;) {
    ReceivedRequest request;
    bool after_headers = false;
    if (!read_request(fd, buffer, request, after_headers)) break;
    Faults f;
    const bool control = request.target.rfind("/__test__", 0) == 0;  // the test's own calls see no faults
    if (!control) {
      std::lock_guard<std::mutex> lock(mutex_);
      f = faults_;
      const bool reject_here = f.reject_path.empty() || request.path.find(f.reject_path) != std::string::npos;
      if (!reject_here) f.reject_next = 0;
      const bool lose_here = f.lose_answer_path.empty() || request.path.find(f.lose_answer_path) != std::string::npos;
      if (!lose_here) f.lose_answer_next = 0;
      if (faults_.reset_next > 0)
        --faults_.reset_next;
      else if (faults_.fail_next > 0)
        --faults_.fail_next;
      else if (faults_.reject_next > 0 && reject_here)
        --faults_.reject_next;
      else if (faults_.lose_answer_next > 0 && lose_here)
        --faults_.lose_answer_next;
    }
    if (f.reset_next > 0) {  // mid-request: the body is never read, nothing is handled
      reset_connection(fd);
      break;
    }
    if (!read_body(fd, buffer, request)) break;
    if (f.latency_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(f.latency_ms));
    TestResponse response;
    if (f.fail_next > 0) {
      response.status = f.fail_status;
      response.content_type = "text/html";
      response.body = "<html><body><h1>" + std::to_string(f.fail_status) + "</h1>injected</body></html>";
      if (f.retry_after_s >= 0) response.headers["Retry-After"] = std::to_string(f.retry_after_s);
    } else if (f.reject_next > 0) {
      response.status = 400;
      response.body = R"({"error_code": "INVALID_PARAMETER_VALUE", "message": "injected permanent rejection"})";
    } else {
      response = handler_(request);
      std::lock_guard<std::mutex> lock(mutex_);
      handled_.push_back(request);
    }
    if (f.reset_next == 0 && f.fail_next == 0 && f.reject_next == 0 &&
        f.lose_answer_next > 0) {  // handled, never answered
      reset_connection(fd);
      break;
    }
    std::string out = "HTTP/1.1 " + std::to_string(response.status) + " " + reason(response.status) + "\r\n";
    out += "Content-Type: " + response.content_type + "\r\nContent-Length: " + std::to_string(response.body.size()) +
           "\r\n";
    for (const auto& [k, v] : response.headers) out += k + ": " + v + "\r\n";
    out += "\r\n" + response.body;
    if (!send_all(fd, out)) break;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    client_fds_.erase(std::remove(client_fds_.begin(), client_fds_.end(), fd), client_fds_.end());
  }
  ::close(fd);
}

}  // namespace trainer::testing
