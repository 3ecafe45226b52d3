#pragma once
// The parts of a multipart/form-data request (RFC 7578) as the mock services read uploads: each
// part's field name and bytes, in order; nullopt when the request is not such a form.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "http_test_server.h"

namespace trainer::testing {

inline std::optional<std::vector<std::pair<std::string, std::string>>> form_parts(const ReceivedRequest& request) {
  const auto type = request.headers.find("content-type");
  if (type == request.headers.end() || type->second.rfind("multipart/form-data", 0) != 0) return std::nullopt;
  const size_t b = type->second.find("boundary=");
  if (b == std::string::npos) return std::nullopt;
  const std::string boundary = "--" + type->second.substr(b + 9);
  std::vector<std::pair<std::string, std::string>> parts;
  for (size_t part = request.body.find(boundary); part != std::string::npos;) {
    const size_t head_end = request.body.find("\r\n\r\n", part);
    const size_t end = head_end == std::string::npos ? head_end : request.body.find("\r\n" + boundary, head_end + 4);
    if (end == std::string::npos) break;
    const std::string head = request.body.substr(part, head_end - part);
    const size_t name = head.find("name=\"");
    if (name != std::string::npos)
      parts.emplace_back(head.substr(name + 6, head.find('"', name + 6) - name - 6),
                         request.body.substr(head_end + 4, end - head_end - 4));
    part = end + 2;
  }
  return parts;
}

}  // namespace trainer::testing
