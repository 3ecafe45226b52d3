#include "trainer/core/argument_parser.h"

#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

namespace trainer {
namespace {

bool is_flag_token(const std::string& t) { return t.size() > 2 && t[0] == '-' && t[1] == '-'; }

std::string extension_of(const std::filesystem::path& p) {
  auto e = p.extension().string();
  for (auto& c : e) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return e;
}

// A config value as the tokens a flag would have received.
std::vector<std::string> tokens_from_json(const Json& v) {
  if (v.is_array()) {
    std::vector<std::string> out;
    for (const auto& item : v) out.push_back(item.is_string() ? item.get<std::string>() : dump_json(item, {-1}));
    return out;
  }
  if (v.is_string()) return {v.get<std::string>()};
  if (v.is_null()) return {"none"};
  return {dump_json(v, {-1})};
}

Json json_from_yaml(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null: return nullptr;
    case YAML::NodeType::Scalar: return node.Scalar();
    case YAML::NodeType::Sequence: {
      Json arr = Json::array();
      for (const auto& item : node) arr.push_back(json_from_yaml(item));
      return arr;
    }
    case YAML::NodeType::Map: {
      Json obj = Json::object();
      for (const auto& kv : node) {
        // Numbers inside nested maps (lr_scheduler_kwargs) must stay numbers.
        const auto& value = kv.second;
        if (value.IsScalar()) {
          const std::string& s = value.Scalar();
          char* end = nullptr;
          double d = std::strtod(s.c_str(), &end);
          if (!s.empty() && end == s.c_str() + s.size()) {
            if (s.find_first_of(".eE") == std::string::npos)
              obj[kv.first.Scalar()] = static_cast<int64_t>(d);
            else
              obj[kv.first.Scalar()] = d;
            continue;
          }
          if (s == "true" || s == "false") {
            obj[kv.first.Scalar()] = (s == "true");
            continue;
          }
        }
        obj[kv.first.Scalar()] = json_from_yaml(value);
      }
      return obj;
    }
    default: return nullptr;
  }
}

}  // namespace

ArgumentParser::ArgumentParser(std::string program, std::string description)
    : program_(std::move(program)), description_(std::move(description)) {}

void ArgumentParser::add(ArgumentSpec spec) {
  if (find(spec.name)) throw std::logic_error("argument --" + spec.name + " is defined twice");
  defaults_.push_back(spec.secret ? "<hidden>" : dump_json(spec.get(), {-1}));
  specs_.push_back(std::move(spec));
}

void ArgumentParser::add(std::vector<ArgumentSpec> specs) {
  for (auto& s : specs) add(std::move(s));
}

const ArgumentSpec* ArgumentParser::find(const std::string& name) const {
  for (const auto& s : specs_)
    if (s.name == name) return &s;
  return nullptr;
}

void ArgumentParser::refuse(std::vector<std::pair<std::string, std::string>> names_and_reasons) {
  for (auto& entry : names_and_reasons) refused_.push_back(std::move(entry));
}

void ArgumentParser::unknown(const std::string& name, const std::string& where) const {
  for (const auto& [refused, why] : refused_)
    if (refused == name) throw ArgumentError(where + "--" + name + ": " + why);
  std::vector<std::string> names;
  for (const auto& s : specs_) names.push_back(s.name);
  names.push_back("config");
  std::string msg = where + "unknown argument --" + name;
  auto near = closest_match(name, names);
  if (!near.empty()) msg += "; did you mean --" + near + "?";
  msg += " (see `" + program_ + " --help` for every flag)";
  throw ArgumentError(msg);
}

void ArgumentParser::parse(const std::vector<std::string>& tokens) {
  // Pass 1: find --config and --help so the file is applied before any flag overrides it.
  for (size_t i = 0; i < tokens.size(); ++i) {
    const auto& t = tokens[i];
    if (t == "--help" || t == "-h") help_requested_ = true;
    if (t == "--config" || t.rfind("--config=", 0) == 0) {
      std::string file;
      if (t == "--config") {
        if (i + 1 >= tokens.size() || is_flag_token(tokens[i + 1]))
          throw ArgumentError("--config: expected the path of a JSON or YAML file");
        file = tokens[++i];
      } else {
        file = t.substr(9);
      }
      if (!help_requested_) apply_config_file(file);
    }
  }
  if (help_requested_) return;
  // Pass 2: flags, in order.
  size_t positionals_filled = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const auto& t = tokens[i];
    if (!is_flag_token(t)) {
      fill_positional(t, positionals_filled);
      continue;
    }
    std::string name = t.substr(2);
    std::vector<std::string> values;
    auto eq = name.find('=');
    if (eq != std::string::npos) {
      values.push_back(name.substr(eq + 1));
      name = name.substr(0, eq);
    }
    if (name == "config") {
      if (eq == std::string::npos) ++i;
      continue;
    }
    const ArgumentSpec* spec = find(name);
    if (!spec) unknown(name, "");
    if (eq == std::string::npos) {
      while (i + 1 < tokens.size() && !is_flag_token(tokens[i + 1])) {
        values.push_back(tokens[++i]);
        if (spec->arity != Arity::one_or_more) break;
      }
    }
    if (spec->arity == Arity::one && values.empty())
      throw ArgumentError("--" + name + ": expected a value (" + spec->type + ")");
    spec->set(values);
    given_.insert(name);
  }
  if (positionals_filled < positionals_.size()) {
    const Positional& missing = positionals_[positionals_filled];
    throw ArgumentError("expected " + missing.name + " (" + missing.help + ")");
  }
}

void ArgumentParser::add_positional(std::string name, std::string* target, std::string help) {
  positionals_.push_back({std::move(name), target, std::move(help)});
}

void ArgumentParser::fill_positional(const std::string& token, size_t& filled) {
  if (positionals_.empty())
    throw ArgumentError("unexpected value '" + token + "': values follow a flag, as in --learning_rate 3e-4");
  if (filled == positionals_.size())
    throw ArgumentError("expected one " + positionals_.back().name + ", got a second one: '" + token + "'");
  *positionals_[filled++].target = token;
}

void ArgumentParser::apply_config_file(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw ArgumentError("--config: file " + path.string() + " does not exist");
  const auto ext = extension_of(path);
  if (ext == ".json") {
    Json doc;
    try {
      doc = read_json_file(path);
    } catch (const std::exception& e) {
      throw ArgumentError(std::string("--config: ") + e.what());
    }
    if (!doc.is_object()) throw ArgumentError(path.string() + ": expected a JSON object of argument names to values");
    for (auto it = doc.begin(); it != doc.end(); ++it) apply_config_value(it.key(), it.value(), path.string() + ": ");
  } else if (ext == ".yaml" || ext == ".yml") {
    YAML::Node doc;
    try {
      doc = YAML::LoadFile(path.string());
    } catch (const YAML::Exception& e) {
      throw ArgumentError(path.string() + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML (" + e.msg + ")");
    }
    if (doc.IsNull()) return;
    if (!doc.IsMap()) throw ArgumentError(path.string() + ": expected a mapping of argument names to values");
    for (const auto& kv : doc)
      apply_config_value(kv.first.Scalar(), json_from_yaml(kv.second),
                         path.string() + ":" + std::to_string(kv.first.Mark().line + 1) + ": ");
  } else {
    throw ArgumentError("--config: " + path.string() + " must end in .json, .yaml or .yml");
  }
}

void ArgumentParser::apply_config_value(const std::string& key, const Json& value, const std::string& where) {
  if (key == "config")
    throw ArgumentError(where +
                        "a config file cannot name another one (key 'config'); merge the two files, or pass "
                        "the other as --config on the command line");
  const ArgumentSpec* spec = find(key);
  if (!spec) unknown(key, where);
  if (value.is_null()) return;  // null (JSON) or ~ (YAML): the argument keeps its default
  try {
    spec->set(tokens_from_json(value));
  } catch (const ArgumentError& e) {
    throw ArgumentError(where + e.command_line_message());
  }
  given_.insert(key);
}

std::string ArgumentParser::help() const {
  std::ostringstream out;
  out << "usage: " << program_;
  for (const auto& p : positionals_) out << " " << p.name;
  out << " [--config FILE] [--FLAG VALUE ...]\n";
  if (!description_.empty()) out << "\n" << description_ << "\n";
  out << "\n";
  for (const auto& p : positionals_) out << "  " << p.name << "  " << p.help << "\n";
  out << "  --config FILE  JSON or YAML file of flag names to values; flags on the command line win\n";
  for (size_t i = 0; i < specs_.size(); ++i) {
    const auto& s = specs_[i];
    out << "  --" << s.name << " " << s.type << " (default: " << defaults_[i] << ")\n      " << s.help << "\n";
  }
  return out.str();
}

}  // namespace trainer
