#pragma once
// The project's one JSON layer. Values are nlohmann::ordered_json (insertion order kept, so logs
// print in the order they were built); files are written the way Python's json module writes them,
// so trainer_state.json is byte-compatible with the original.

#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace trainer {

using Json = nlohmann::ordered_json;

struct JsonFormat {
  int indent = 2;          // < 0: compact, as json.dumps() without indent
  bool sort_keys = true;   // recursive, by code point, as sort_keys=True
  bool ensure_ascii = true;
};

// Serialises like Python's json.dumps: floats as repr() (`5e-05`, `2.0`, `1000000000000000.0`),
// non-finite floats as the bare tokens NaN, Infinity and -Infinity, `{}`/`[]` for empty containers.
std::string dump_json(const Json& value, const JsonFormat& format = {});

// Parses JSON that may contain Python's NaN / Infinity / -Infinity tokens.
// Throws std::runtime_error naming `source` (a file path or description) and the line on bad input.
Json parse_json(std::string_view text, const std::string& source = "<string>");

// Formats a double as Python's repr() does.
std::string python_float_repr(double value);

Json read_json_file(const std::filesystem::path& path);

}  // namespace trainer
