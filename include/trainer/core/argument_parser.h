#pragma once
// Parses flags the way the original's users write them (`--learning_rate 3e-4`, `--bf16`,
// `--bf16 false`, `--report_to tensorboard mlflow`, `--x=y`) and JSON or YAML config files
// (`--config run.yaml`; flags given on the command line override the file).

#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "trainer/core/argument_spec.h"

namespace trainer {

class ArgumentParser {
 public:
  explicit ArgumentParser(std::string program, std::string description = "");

  // Adds arguments; their current values are recorded as the defaults shown by help().
  void add(ArgumentSpec spec);
  void add(std::vector<ArgumentSpec> specs);
  // A required value given without a flag (`trainer sync OUTPUT_DIR`); positionals are filled in
  // the order they were added, by the tokens that are neither flags nor a flag's values.
  void add_positional(std::string name, std::string* target, std::string help);
  // Names this parser knows but refuses, each with why ("--name: why"), instead of "unknown".
  void refuse(std::vector<std::pair<std::string, std::string>> names_and_reasons);

  // Parses command-line tokens (without the program name). `--config FILE` is applied first,
  // then every flag in order. Throws ArgumentError naming the flag (or file and line) at fault.
  void parse(const std::vector<std::string>& tokens);

  // Applies a JSON (.json) or YAML (.yaml/.yml) file whose top level maps argument names to values.
  void apply_config_file(const std::filesystem::path& path);

  bool help_requested() const { return help_requested_; }
  std::string help() const;
  const std::set<std::string>& given() const { return given_; }  // names set by flags or config
  const std::vector<ArgumentSpec>& specs() const { return specs_; }

 private:
  const ArgumentSpec* find(const std::string& name) const;
  // One key of a config file; `where` is "file: " or "file:line: ". A null value keeps the default.
  void apply_config_value(const std::string& key, const Json& value, const std::string& where);
  [[noreturn]] void unknown(const std::string& name, const std::string& where) const;

  std::string program_;
  std::string description_;
  struct Positional {
    std::string name;
    std::string* target;
    std::string help;
  };
  // The next positional for `token`; throws ArgumentError when every one is filled.
  void fill_positional(const std::string& token, size_t& filled);
  std::vector<ArgumentSpec> specs_;
  std::vector<std::pair<std::string, std::string>> refused_;
  std::vector<Positional> positionals_;
  std::vector<std::string> defaults_;
  std::set<std::string> given_;
  bool help_requested_ = false;
};

}  // namespace trainer
