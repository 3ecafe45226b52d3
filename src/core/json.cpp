#include "trainer/core/json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace trainer {
namespace {

// Markers that stand in for Python's non-finite tokens while nlohmann parses the text. They begin
// with a NUL character, which cannot appear unescaped in valid JSON text, so no real string matches.
const std::string kNaNMarker = std::string("\0trainer:NaN", 12);
const std::string kInfMarker = std::string("\0trainer:Inf", 12);
const std::string kNegInfMarker = std::string("\0trainer:-Inf", 13);

void append_escaped_string(std::string& out, const std::string& s, bool ensure_ascii) {
  out.push_back('"');
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        ++i;
        continue;
      case '\\':
        out += "\\\\";
        ++i;
        continue;
      case '\n':
        out += "\\n";
        ++i;
        continue;
      case '\r':
        out += "\\r";
        ++i;
        continue;
      case '\t':
        out += "\\t";
        ++i;
        continue;
      case '\b':
        out += "\\b";
        ++i;
        continue;
      case '\f':
        out += "\\f";
        ++i;
        continue;
      default: break;
    }
    char buf[16];
    if (c < 0x20) {
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      ++i;
      continue;
    }
    if (c < 0x80 || !ensure_ascii) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    // Decode one UTF-8 sequence (nlohmann validated it when it was parsed or assigned).
    int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    uint32_t cp = c & (len == 4 ? 0x07 : len == 3 ? 0x0F : 0x1F);
    for (int k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    i += len;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      std::snprintf(buf, sizeof buf, "\\u%04x\\u%04x", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
    } else {
      std::snprintf(buf, sizeof buf, "\\u%04x", cp);
    }
    out += buf;
  }
  out.push_back('"');
}

void dump_into(std::string& out, const Json& v, const JsonFormat& f, int depth) {
  const bool pretty = f.indent >= 0;
  auto newline = [&](int d) {
    if (!pretty) return;
    out.push_back('\n');
    out.append(static_cast<size_t>(d * f.indent), ' ');
  };
  const char* item_sep = pretty ? "," : ", ";
  switch (v.type()) {
    case Json::value_t::object: {
      if (v.empty()) {
        out += "{}";
        return;
      }
      std::vector<const std::string*> keys;
      keys.reserve(v.size());
      for (auto it = v.begin(); it != v.end(); ++it) keys.push_back(&it.key());
      if (f.sort_keys) std::sort(keys.begin(), keys.end(), [](auto* a, auto* b) { return *a < *b; });
      out.push_back('{');
      for (size_t i = 0; i < keys.size(); ++i) {
        if (i) out += item_sep;
        newline(depth + 1);
        append_escaped_string(out, *keys[i], f.ensure_ascii);
        out += ": ";
        dump_into(out, v.at(*keys[i]), f, depth + 1);
      }
      newline(depth);
      out.push_back('}');
      return;
    }
    case Json::value_t::array: {
      if (v.empty()) {
        out += "[]";
        return;
      }
      out.push_back('[');
      for (size_t i = 0; i < v.size(); ++i) {
        if (i) out += item_sep;
        newline(depth + 1);
        dump_into(out, v[i], f, depth + 1);
      }
      newline(depth);
      out.push_back(']');
      return;
    }
    case Json::value_t::string: append_escaped_string(out, v.get_ref<const std::string&>(), f.ensure_ascii); return;
    case Json::value_t::boolean: out += v.get<bool>() ? "true" : "false"; return;
    case Json::value_t::null: out += "null"; return;
    case Json::value_t::number_integer: out += std::to_string(v.get<int64_t>()); return;
    case Json::value_t::number_unsigned: out += std::to_string(v.get<uint64_t>()); return;
    case Json::value_t::number_float: out += python_float_repr(v.get<double>()); return;
    default: throw std::runtime_error("dump_json: binary and discarded values cannot be written as JSON");
  }
}

// Replaces NaN / Infinity / -Infinity tokens that stand outside strings by marker strings.
std::string mark_non_finite_tokens(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      out.push_back(c);
      if (c == '\\' && i + 1 < text.size())
        out.push_back(text[++i]);
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
      out.push_back(c);
      continue;
    }
    auto starts = [&](std::string_view token) { return text.substr(i, token.size()) == token; };
    auto emit_marker = [&](const std::string& marker) {
      Json s = marker;
      out += s.dump();  // escapes the NUL as \u0000
    };
    if (starts("NaN")) {
      emit_marker(kNaNMarker);
      i += 2;
      continue;
    }
    if (starts("Infinity")) {
      emit_marker(kInfMarker);
      i += 7;
      continue;
    }
    if (starts("-Infinity")) {
      emit_marker(kNegInfMarker);
      i += 8;
      continue;
    }
    out.push_back(c);
  }
  return out;
}

void restore_non_finite(Json& v) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (!s.empty() && s[0] == '\0') {
      if (s == kNaNMarker)
        v = std::nan("");
      else if (s == kInfMarker)
        v = HUGE_VAL;
      else if (s == kNegInfMarker)
        v = -HUGE_VAL;
    }
  } else if (v.is_structured()) {
    for (auto& child : v) restore_non_finite(child);
  }
}

}  // namespace

std::string python_float_repr(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  if (value == 0) return std::signbit(value) ? "-0.0" : "0.0";
  // Shortest round-trip digits, then laid out with Python's repr thresholds.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  const auto e_pos = sci.find('e');
  std::string digits = sci.substr(0, e_pos);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int exponent = std::stoi(sci.substr(e_pos + 1));
  const int decpt = exponent + 1;  // position of the decimal point relative to the digits
  const int n = static_cast<int>(digits.size());
  std::string out = sign;
  if (decpt <= -4 || decpt > 16) {
    out += digits.substr(0, 1);
    if (n > 1) out += "." + digits.substr(1);
    char ebuf[16];
    std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    out += ebuf;
  } else if (decpt <= 0) {
    out += "0." + std::string(static_cast<size_t>(-decpt), '0') + digits;
  } else if (decpt >= n) {
    out += digits + std::string(static_cast<size_t>(decpt - n), '0') + ".0";
  } else {
    out += digits.substr(0, static_cast<size_t>(decpt)) + "." + digits.substr(static_cast<size_t>(decpt));
  }
  return out;
}

std::string dump_json(const Json& value, const JsonFormat& format) {
  std::string out;
  dump_into(out, value, format, 0);
  return out;
}

Json parse_json(std::string_view text, const std::string& source) {
  try {
    Json v = Json::parse(mark_non_finite_tokens(text));
    restore_non_finite(v);
    return v;
  } catch (const Json::out_of_range& e) {
    // e.g. a number too large for a double
    throw std::runtime_error(source + ": invalid JSON (" + e.what() + ")");
  } catch (const Json::parse_error& e) {
    // Markers never contain newlines, so line numbers computed on the original text stay right.
    size_t byte = std::min(e.byte, text.size());
    size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + static_cast<long>(byte), '\n'));
    throw std::runtime_error(source + ":" + std::to_string(line) + ": invalid JSON (" + e.what() + ")");
  }
}

Json read_json_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path.string() + ": cannot open for reading");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_json(ss.str(), path.string());
}

namespace {

template <typename T>
struct FieldKind;
template <>
struct FieldKind<bool> {
  static constexpr const char* name = "true or false";
  static bool matches(const Json& v) { return v.is_boolean(); }
};
template <>
struct FieldKind<int64_t> {
  static constexpr const char* name = "an integer";
  static bool matches(const Json& v) { return v.is_number_integer(); }
};
template <>
struct FieldKind<double> {
  static constexpr const char* name = "a number";
  static bool matches(const Json& v) { return v.is_number(); }
};
template <>
struct FieldKind<std::string> {
  static constexpr const char* name = "a string";
  static bool matches(const Json& v) { return v.is_string(); }
};

}  // namespace

template <typename T>
std::optional<T> optional_field(const Json& object, const std::string& key) {
  if (!object.is_object())
    throw std::runtime_error("expected a JSON object with field '" + key + "', got " +
                             dump_json(object, {-1}).substr(0, 40));
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::nullopt;
  if (!FieldKind<T>::matches(*it)) {
    std::string shown = dump_json(*it, {-1});
    if (shown.size() > 40) shown = shown.substr(0, 37) + "...";
    throw std::runtime_error("field '" + key + "': expected " + FieldKind<T>::name + ", got " + shown);
  }
  return it->template get<T>();
}

template <typename T>
T required_field(const Json& object, const std::string& key) {
  auto v = optional_field<T>(object, key);
  if (!v) throw std::runtime_error("field '" + key + "' is missing (expected " + FieldKind<T>::name + ")");
  return *v;
}

template std::optional<bool> optional_field<bool>(const Json&, const std::string&);
template std::optional<int64_t> optional_field<int64_t>(const Json&, const std::string&);
template std::optional<double> optional_field<double>(const Json&, const std::string&);
template std::optional<std::string> optional_field<std::string>(const Json&, const std::string&);
template bool required_field<bool>(const Json&, const std::string&);
template int64_t required_field<int64_t>(const Json&, const std::string&);
template double required_field<double>(const Json&, const std::string&);
template std::string required_field<std::string>(const Json&, const std::string&);

namespace {

// repr() of a str: single quotes unless the text holds one and no double quote.
std::string python_string_repr(const std::string& s) {
  const bool use_double = s.find('\'') != std::string::npos && s.find('"') == std::string::npos;
  const char quote = use_double ? '"' : '\'';
  std::string out(1, quote);
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == quote)
      out += std::string("\\") + quote;
    else if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\r')
      out += "\\r";
    else
      out += c;
  }
  return out + quote;
}

std::string python_repr(const Json& v) {
  return v.is_string() ? python_string_repr(v.get<std::string>()) : python_str(v);
}

}  // namespace

std::string python_str(const Json& v) {
  if (v.is_null()) return "None";
  if (v.is_boolean()) return v.get<bool>() ? "True" : "False";
  if (v.is_number_integer()) return v.dump();
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
    return python_float_repr(d);
  }
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + python_repr(v[i]);
    return out + "]";
  }
  std::string out = "{";
  bool first = true;
  for (auto it = v.begin(); it != v.end(); ++it) {
    out += (first ? "" : ", ") + python_string_repr(it.key()) + ": " + python_repr(it.value());
    first = false;
  }
  return out + "}";
}

}  // namespace trainer
