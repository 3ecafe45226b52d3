#pragma once
// One command-line / config-file argument bound to the variable it sets. TrainingArguments and the
// `trainer` program both describe their options this way, so flags, JSON/YAML config files, the
// --help text and the saved arguments all come from a single table.

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "trainer/core/choices.h"
#include "trainer/core/json.h"

namespace trainer {

// Bad arguments: the message names the argument and what would be valid. Messages are written
// with arguments as command-line flags (`--learning_rate: must be >= 0`); what() renders them as the
// C++ API spells them (`args.learning_rate: must be >= 0`), command_line_message() as flags, so each
// front end names the field the way its user wrote it.
class ArgumentError : public std::invalid_argument {
 public:
  explicit ArgumentError(const std::string& flag_message);
  // The message with arguments as flags, for the `trainer` program.
  const std::string& command_line_message() const { return flag_message_; }

 private:
  std::string flag_message_;
};

// "--name" references rewritten as "args.name" (what ArgumentError::what() shows).
std::string api_spelling(const std::string& flag_message);

enum class Arity {
  flag,         // bool: `--x` alone means true, `--x false` sets it explicitly
  one,          // exactly one value
  one_or_more,  // a list: `--report_to tensorboard mlflow`
};

// What changing an argument between a run and its resume does.
enum class ResumeEffect {
  none,              // output, logging, trackers, performance switches: resuming is fine
  changes_training,  // optimizer, schedule, precision, length: the resumed run differs (warned)
  changes_batches,   // batch layout and data order: the saved data position is meaningless (refused)
};

struct ArgumentSpec {
  std::string name;  // without the leading dashes
  std::string type;  // shown in --help: float, int, bool, str, list[str], dict
  std::string help;
  std::vector<std::string> choices;  // empty: any value of the type
  Arity arity = Arity::one;
  bool secret = false;  // never printed or saved: API keys, tokens
  ResumeEffect resume_effect = ResumeEffect::none;
  std::function<void(const std::vector<std::string>& values)> set;  // throws ArgumentError
  std::function<Json()> get;
};

ArgumentSpec bind_argument(std::string name, double* target, std::string help);
ArgumentSpec bind_argument(std::string name, int64_t* target, std::string help);
ArgumentSpec bind_argument(std::string name, bool* target, std::string help);
ArgumentSpec bind_argument(std::string name, std::string* target, std::string help,
                           std::vector<std::string> choices = {});
ArgumentSpec bind_argument(std::string name, std::optional<double>* target, std::string help);
ArgumentSpec bind_argument(std::string name, std::optional<int64_t>* target, std::string help);
ArgumentSpec bind_argument(std::string name, std::optional<bool>* target, std::string help);
ArgumentSpec bind_argument(std::string name, std::optional<std::string>* target, std::string help);
ArgumentSpec bind_argument(std::string name, std::vector<std::string>* target, std::string help);
// One of a fixed list of spellings, stored as its index (the enum bindings below).
ArgumentSpec bind_choice_argument(std::string name, std::vector<std::string> choices, std::string help,
                                  std::function<void(size_t index)> set, std::function<size_t()> get);
// An enum with a ChoiceNames table (choices.h): parsed from and saved as its spelling.
template <typename E, typename = std::enable_if_t<std::is_enum_v<E>>>
ArgumentSpec bind_argument(std::string name, E* target, std::string help) {
  return bind_choice_argument(
      std::move(name), choice_names<E>(), std::move(help), [target](size_t i) { *target = static_cast<E>(i); },
      [target] { return static_cast<size_t>(*target); });
}
// An optional choice: unset (saved as null, given as None) or one of the spellings.
ArgumentSpec bind_optional_choice_argument(std::string name, std::vector<std::string> choices, std::string help,
                                           std::function<void(std::optional<size_t> index)> set,
                                           std::function<std::optional<size_t>()> get);
template <typename E, typename = std::enable_if_t<std::is_enum_v<E>>>
ArgumentSpec bind_argument(std::string name, std::optional<E>* target, std::string help) {
  return bind_optional_choice_argument(
      std::move(name), choice_names<E>(), std::move(help),
      [target](std::optional<size_t> i) {
        if (i)
          *target = static_cast<E>(*i);
        else
          target->reset();
      },
      [target]() -> std::optional<size_t> {
        if (!*target) return std::nullopt;
        return static_cast<size_t>(**target);
      });
}
// A JSON object, given on the command line as JSON text: --lr_scheduler_kwargs '{"num_cycles": 2}'.
ArgumentSpec bind_json_object_argument(std::string name, Json* target, std::string help);

// Value parsing shared by the bindings; each throws ArgumentError("--name: ...").
double parse_float_value(const std::string& flag, const std::string& text);
int64_t parse_int_value(const std::string& flag, const std::string& text);
bool parse_bool_value(const std::string& flag, const std::string& text);

// The candidate closest to `word` by edit distance, or "" when none is close enough to suggest.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace trainer
