#include "trainer/core/argument_spec.h"

#include "trainer/core/text.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <sstream>

namespace trainer {
namespace {

bool is_none(const std::string& text) {
  auto l = ascii_lower(text);
  return l == "none" || l == "null" || l == "~";
}

const std::string& single(const std::string& name, const std::vector<std::string>& values) {
  if (values.size() != 1)
    throw ArgumentError("--" + name + ": expected one value, got " + std::to_string(values.size()));
  return values[0];
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

template <typename T, typename Parse, typename ToJson>
ArgumentSpec bind_scalar(std::string name, T* target, std::string help, std::string type, Arity arity, Parse parse,
                         ToJson to_json) {
  ArgumentSpec spec;
  spec.name = name;
  spec.type = std::move(type);
  spec.help = std::move(help);
  spec.arity = arity;
  spec.set = [name, target, parse](const std::vector<std::string>& values) {
    *target = parse(name, single(name, values));
  };
  spec.get = [target, to_json]() { return to_json(*target); };
  return spec;
}

template <typename T>
Json optional_to_json(const std::optional<T>& v) {
  return v ? Json(*v) : Json(nullptr);
}

}  // namespace

std::string api_spelling(const std::string& flag_message) {
  std::string out;
  out.reserve(flag_message.size());
  for (size_t i = 0; i < flag_message.size(); ++i) {
    const bool starts_flag = flag_message.compare(i, 2, "--") == 0 && i + 2 < flag_message.size() &&
                             std::islower(static_cast<unsigned char>(flag_message[i + 2])) &&
                             (i == 0 || !std::isalnum(static_cast<unsigned char>(flag_message[i - 1])));
    if (starts_flag) {
      out += "args.";
      ++i;
    } else {
      out += flag_message[i];
    }
  }
  return out;
}

ArgumentError::ArgumentError(const std::string& flag_message)
    : std::invalid_argument(api_spelling(flag_message)), flag_message_(flag_message) {}

double parse_float_value(const std::string& flag, const std::string& text) {
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(begin, &end);
  if (text.empty() || end != begin + text.size() || errno == ERANGE)
    throw ArgumentError("--" + flag + ": expected a number (e.g. 0.5 or 3e-4), got '" + text + "'");
  return v;
}

int64_t parse_int_value(const std::string& flag, const std::string& text) {
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(begin, &end, 10);
  if (text.empty() || end != begin + text.size() || errno == ERANGE)
    throw ArgumentError("--" + flag + ": expected an integer, got '" + text + "'");
  return v;
}

bool parse_bool_value(const std::string& flag, const std::string& text) {
  auto l = ascii_lower(text);
  if (l == "true" || l == "1" || l == "yes" || l == "y" || l == "t") return true;
  if (l == "false" || l == "0" || l == "no" || l == "n" || l == "f") return false;
  throw ArgumentError("--" + flag + ": expected true or false, got '" + text + "'");
}

ArgumentSpec bind_argument(std::string name, double* target, std::string help) {
  return bind_scalar(std::move(name), target, std::move(help), "float", Arity::one, parse_float_value,
                     [](double v) { return Json(v); });
}

ArgumentSpec bind_argument(std::string name, int64_t* target, std::string help) {
  return bind_scalar(std::move(name), target, std::move(help), "int", Arity::one, parse_int_value,
                     [](int64_t v) { return Json(v); });
}

ArgumentSpec bind_argument(std::string name, bool* target, std::string help) {
  ArgumentSpec spec = bind_scalar(std::move(name), target, std::move(help), "bool", Arity::flag, parse_bool_value,
                                  [](bool v) { return Json(v); });
  auto set_one = spec.set;
  const std::string flag = spec.name;
  spec.set = [set_one, target, flag](const std::vector<std::string>& values) {
    if (values.empty())
      *target = true;
    else
      set_one(values);
  };
  return spec;
}

namespace {

// The one check of a value against a list of choices, with a suggestion for a near miss.
void check_choice(const std::string& name, const std::string& value, const std::vector<std::string>& choices) {
  if (choices.empty() || std::find(choices.begin(), choices.end(), value) != choices.end()) return;
  std::string msg = "--" + name + ": '" + value + "' is not valid; choose one of " + join(choices, ", ");
  auto near = closest_match(value, choices);
  if (!near.empty()) msg += " (did you mean '" + near + "'?)";
  throw ArgumentError(msg);
}

}  // namespace

ArgumentSpec bind_argument(std::string name, std::string* target, std::string help, std::vector<std::string> choices) {
  ArgumentSpec spec;
  spec.name = name;
  spec.type = choices.empty() ? "str" : "{" + join(choices, ",") + "}";
  spec.help = std::move(help);
  spec.choices = choices;
  spec.set = [name, target, choices](const std::vector<std::string>& values) {
    const auto& v = single(name, values);
    check_choice(name, v, choices);
    *target = v;
  };
  spec.get = [target]() { return Json(*target); };
  return spec;
}

ArgumentSpec bind_choice_argument(std::string name, std::vector<std::string> choices, std::string help,
                                  std::function<void(size_t)> set, std::function<size_t()> get) {
  ArgumentSpec spec;
  spec.name = name;
  spec.type = "{" + join(choices, ",") + "}";
  spec.help = std::move(help);
  spec.choices = choices;
  spec.set = [name, choices, set](const std::vector<std::string>& values) {
    const auto& v = single(name, values);
    check_choice(name, v, choices);
    set(static_cast<size_t>(std::find(choices.begin(), choices.end(), v) - choices.begin()));
  };
  spec.get = [choices, get]() { return Json(choices.at(get())); };
  return spec;
}

ArgumentSpec bind_optional_choice_argument(std::string name, std::vector<std::string> choices, std::string help,
                                           std::function<void(std::optional<size_t>)> set,
                                           std::function<std::optional<size_t>()> get) {
  ArgumentSpec spec = bind_choice_argument(
      name, choices, std::move(help), [set](size_t i) { set(i); }, [] { return size_t{0}; });
  auto set_choice = spec.set;
  spec.set = [name, set, set_choice](const std::vector<std::string>& values) {
    if (is_none(single(name, values)))
      set(std::nullopt);
    else
      set_choice(values);
  };
  spec.get = [choices, get]() -> Json {
    const auto i = get();
    return i ? Json(choices.at(*i)) : Json(nullptr);
  };
  return spec;
}

ArgumentSpec bind_argument(std::string name, std::optional<double>* target, std::string help) {
  return bind_scalar(
      std::move(name), target, std::move(help), "float", Arity::one,
      [](const std::string& f, const std::string& t) -> std::optional<double> {
        if (is_none(t)) return std::nullopt;
        return parse_float_value(f, t);
      },
      optional_to_json<double>);
}

ArgumentSpec bind_argument(std::string name, std::optional<int64_t>* target, std::string help) {
  return bind_scalar(
      std::move(name), target, std::move(help), "int", Arity::one,
      [](const std::string& f, const std::string& t) -> std::optional<int64_t> {
        if (is_none(t)) return std::nullopt;
        return parse_int_value(f, t);
      },
      optional_to_json<int64_t>);
}

ArgumentSpec bind_argument(std::string name, std::optional<bool>* target, std::string help) {
  ArgumentSpec spec = bind_scalar(
      std::move(name), target, std::move(help), "bool", Arity::flag,
      [](const std::string& f, const std::string& t) -> std::optional<bool> {
        if (is_none(t)) return std::nullopt;
        return parse_bool_value(f, t);
      },
      optional_to_json<bool>);
  auto set_one = spec.set;
  spec.set = [set_one, target](const std::vector<std::string>& values) {
    if (values.empty())
      *target = true;
    else
      set_one(values);
  };
  return spec;
}

ArgumentSpec bind_argument(std::string name, std::optional<std::string>* target, std::string help) {
  return bind_scalar(
      std::move(name), target, std::move(help), "str", Arity::one,
      [](const std::string&, const std::string& t) -> std::optional<std::string> {
        if (is_none(t)) return std::nullopt;
        return t;
      },
      optional_to_json<std::string>);
}

ArgumentSpec bind_argument(std::string name, std::vector<std::string>* target, std::string help) {
  ArgumentSpec spec;
  spec.name = std::move(name);
  spec.type = "list[str]";
  spec.help = std::move(help);
  spec.arity = Arity::one_or_more;
  const std::string flag = spec.name;
  spec.set = [flag, target](const std::vector<std::string>& values) {
    // `--report_to a b`, `--report_to a,b` and `--report_to "a, b"` mean the same.
    std::vector<std::string> kept;
    for (const auto& v : values) {
      std::stringstream items(v);
      for (std::string item; std::getline(items, item, ',');) {
        const auto b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
        if (b != std::string::npos) kept.push_back(item.substr(b, e - b + 1));
      }
    }
    if (kept.empty()) throw ArgumentError("--" + flag + ": expected at least one value");
    *target = kept;
  };
  spec.get = [target]() { return Json(*target); };
  return spec;
}

ArgumentSpec bind_json_object_argument(std::string name, Json* target, std::string help) {
  ArgumentSpec spec;
  spec.name = std::move(name);
  spec.type = "dict";
  spec.help = std::move(help);
  const std::string flag = spec.name;
  spec.set = [flag, target](const std::vector<std::string>& values) {
    const auto& text = single(flag, values);
    if (is_none(text)) {
      *target = Json::object();
      return;
    }
    Json parsed;
    try {
      parsed = parse_json(text, "--" + flag);
    } catch (const std::exception&) {
      throw ArgumentError("--" + flag + ": expected a JSON object such as '{\"num_cycles\": 2}', got '" + text + "'");
    }
    if (!parsed.is_object())
      throw ArgumentError("--" + flag + ": expected a JSON object such as '{\"num_cycles\": 2}', got '" + text + "'");
    *target = parsed;
  };
  spec.get = [target]() { return *target; };
  return spec;
}

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  auto distance = [](const std::string& a, const std::string& b) {
    std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      cur[0] = i;
      for (size_t j = 1; j <= b.size(); ++j)
        cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      std::swap(prev, cur);
    }
    return prev[b.size()];
  };
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto& c : candidates) {
    size_t d = distance(ascii_lower(word), ascii_lower(c));
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  const size_t limit = std::max<size_t>(2, word.size() / 3);
  return best_d <= limit ? best : std::string();
}

}  // namespace trainer
