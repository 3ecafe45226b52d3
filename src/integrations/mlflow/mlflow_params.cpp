#include "trainer/integrations/mlflow/mlflow_params.h"

#include "trainer/core/logging.h"

namespace trainer {
namespace {

// repr() of a str: single quotes unless the text holds one and no double quote.
std::string python_string_repr(const std::string& s) {
  const bool use_double = s.find('\'') != std::string::npos && s.find('"') == std::string::npos;
  const char quote = use_double ? '"' : '\'';
  std::string out(1, quote);
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == quote) out += std::string("\\") + quote;
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else out += c;
  }
  return out + quote;
}

std::string python_repr(const Json& v) {
  return v.is_string() ? python_string_repr(v.get<std::string>()) : python_str(v);
}

void flatten_into(const Json& object, const std::string& prefix, Json& out) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    const std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (it.value().is_object()) flatten_into(it.value(), key, out);
    else out[key] = it.value();
  }
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

MlflowParams mlflow_params(const Json& model_config, const Json& arguments, bool flatten, std::optional<int64_t> max_params) {
  Json combined = model_config.is_object() ? model_config : Json::object();
  for (auto it = arguments.begin(); it != arguments.end(); ++it) combined[it.key()] = it.value();
  if (flatten) {
    Json flat = Json::object();
    flatten_into(combined, "", flat);
    combined = flat;
  }
  MlflowParams out;
  for (auto it = combined.begin(); it != combined.end(); ++it) {
    std::string value = python_str(it.value());
    if (value.size() > kMlflowMaxParamValueLength) {
      log_warning("MLflowCallback: parameter '" + it.key() + "' is " + std::to_string(value.size()) +
                  " characters long, over MLflow's limit of " + std::to_string(kMlflowMaxParamValueLength) +
                  "; it is not logged (as the original does)");
      continue;
    }
    out.emplace_back(it.key(), std::move(value));
  }
  if (max_params && static_cast<int64_t>(out.size()) > *max_params) out.resize(static_cast<size_t>(*max_params));
  return out;
}

}  // namespace trainer
