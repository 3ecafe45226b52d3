#pragma once
// The project's one JSON layer. Values are nlohmann::ordered_json (insertion order kept, so logs
// print in the order they were built); files are written the way Python's json module writes them,
// so trainer_state.json is byte-compatible with the original.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "trainer/core/json_fwd.h"

namespace trainer {

struct JsonFormat {
  int indent = 2;         // < 0: compact, as json.dumps() without indent
  bool sort_keys = true;  // recursive, by code point, as sort_keys=True
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

// str(value) in Python for a value parsed from JSON: None, True, 5e-05, nan, inf, ['a', 'b'],
// {'k': 1}; a string is itself.
std::string python_str(const Json& value);

Json read_json_file(const std::filesystem::path& path);

// Runs `read()` (which parses `path`) and names the file in the error of a failure, once: an error
// that already starts with the path is passed on as it is.
template <typename Read>
auto read_file_with_context(const std::filesystem::path& path, Read&& read) -> decltype(read()) {
  try {
    return read();
  } catch (const std::exception& e) {
    const std::string what = e.what();
    if (what.rfind(path.string(), 0) == 0) throw;
    throw std::runtime_error(path.string() + ": " + what);
  }
}

// Typed reads of one field of a JSON object. A wrong type throws std::runtime_error naming the
// field, what it should hold and what it holds ("field 'global_step': expected an integer, got
// \"ten\""), so a damaged file is reported at the field, not as a library exception.
// T is one of bool, int64_t, double, std::string.
template <typename T>
T required_field(const Json& object, const std::string& key);  // absent or null: error
template <typename T>
std::optional<T> optional_field(const Json& object, const std::string& key);  // absent or null: nullopt
template <typename T>
T field_or(const Json& object, const std::string& key, T fallback) {
  return optional_field<T>(object, key).value_or(fallback);
}

}  // namespace trainer
