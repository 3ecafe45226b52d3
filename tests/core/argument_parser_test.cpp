#include "trainer/core/argument_parser.h"

#include <gtest/gtest.h>

#include <fstream>

#include "test_support.h"
#include "trainer/core/training_arguments.h"

namespace trainer {
namespace {

struct Parsed {
  TrainingArguments args;
  ArgumentParser parser{"trainer train"};
  Parsed() { parser.add(training_argument_specs(args)); }
  void parse(const std::vector<std::string>& tokens) { parser.parse(tokens); }
};

std::string error_of(const std::vector<std::string>& tokens) {
  Parsed p;
  try {
    p.parse(tokens);
    p.args.finalize();
  } catch (const ArgumentError& e) {
    return e.command_line_message();  // the parser serves the command line: flags as flags
  }
  return "";
}

TEST(ArgumentParser, ParsesFlagsAsTheOriginalsUsersWriteThem) {
  Parsed p;
  p.parse({"--learning_rate", "3e-4", "--report_to", "tensorboard", "mlflow", "--bf16", "--num_train_epochs=2",
           "--logging_first_step", "false", "--save_total_limit", "2", "--metric_for_best_model", "accuracy",
           "--lr_scheduler_kwargs", "{\"num_cycles\": 2}"});
  EXPECT_EQ(p.args.learning_rate, 3e-4);
  EXPECT_EQ(p.args.report_to, (std::vector<std::string>{"tensorboard", "mlflow"}));
  EXPECT_TRUE(p.args.bf16);
  EXPECT_EQ(p.args.num_train_epochs, 2.0);
  EXPECT_FALSE(p.args.logging_first_step);
  EXPECT_EQ(p.args.save_total_limit, 2);
  EXPECT_EQ(p.args.metric_for_best_model, "accuracy");
  EXPECT_EQ(p.args.lr_scheduler_kwargs["num_cycles"], 2);
  EXPECT_TRUE(p.parser.given().count("bf16"));
  EXPECT_FALSE(p.parser.given().count("seed"));
}

TEST(ArgumentParser, BoolFlagTakesAnExplicitValue) {
  Parsed p;
  p.parse({"--bf16", "false", "--use_cpu", "--logging_nan_inf_filter", "no"});
  EXPECT_FALSE(p.args.bf16);
  EXPECT_TRUE(p.args.use_cpu);
  EXPECT_FALSE(p.args.logging_nan_inf_filter);
}

TEST(ArgumentParser, NegativeNumbersAreValues) {
  Parsed p;
  p.parse({"--max_steps", "-1", "--adam_epsilon", "1e-6"});
  EXPECT_EQ(p.args.max_steps, -1);
  EXPECT_EQ(p.args.adam_epsilon, 1e-6);
}

TEST(ArgumentParser, UnknownFlagSuggestsTheClosest) {
  auto msg = error_of({"--learning_rat", "1e-3"});
  EXPECT_NE(msg.find("unknown argument --learning_rat"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean --learning_rate?"), std::string::npos) << msg;
  msg = error_of({"--evaluation_strategy", "steps"});
  EXPECT_NE(msg.find("unknown argument"), std::string::npos) << msg;
}

TEST(ArgumentParser, WrongTypesNameTheFlagAndTheExpectedType) {
  EXPECT_NE(error_of({"--learning_rate", "fast"}).find("--learning_rate: expected a number"), std::string::npos);
  EXPECT_NE(error_of({"--per_device_train_batch_size", "8.5"}).find("expected an integer"), std::string::npos);
  EXPECT_NE(error_of({"--bf16", "maybe"}).find("expected true or false"), std::string::npos);
  EXPECT_NE(error_of({"--eval_strategy", "step"}).find("did you mean 'steps'"), std::string::npos);
  EXPECT_NE(error_of({"--learning_rate"}).find("expected a value"), std::string::npos);
  EXPECT_NE(error_of({"stray"}).find("unexpected value 'stray'"), std::string::npos);
  EXPECT_NE(error_of({"--lr_scheduler_kwargs", "[1]"}).find("JSON object"), std::string::npos);
}

TEST(ArgumentParser, ContradictoryStrategiesAreRejected) {
  auto msg = error_of({"--load_best_model_at_end", "--eval_strategy", "steps", "--save_strategy", "epoch"});
  EXPECT_NE(msg.find("--load_best_model_at_end"), std::string::npos) << msg;
}

TEST(ArgumentParser, YamlConfigWithFlagsOverriding) {
  testing::TempDir dir;
  std::ofstream(dir / "run.yaml") << "learning_rate: 3e-4\nreport_to: [tensorboard, mlflow]\nbf16: true\n"
                                     "lr_scheduler_kwargs:\n  num_cycles: 2\n  min_lr: 1.0e-6\nseed: 7\n";
  Parsed p;
  p.parse({"--config", (dir / "run.yaml").string(), "--seed", "9"});
  EXPECT_EQ(p.args.learning_rate, 3e-4);
  EXPECT_EQ(p.args.report_to, (std::vector<std::string>{"tensorboard", "mlflow"}));
  EXPECT_TRUE(p.args.bf16);
  EXPECT_EQ(p.args.seed, 9);
  EXPECT_EQ(p.args.lr_scheduler_kwargs["num_cycles"], 2);
  EXPECT_EQ(p.args.lr_scheduler_kwargs["min_lr"], 1e-6);
}

TEST(ArgumentParser, JsonConfig) {
  testing::TempDir dir;
  std::ofstream(dir / "run.json")
      << R"({"learning_rate": 0.001, "report_to": "none", "max_steps": 10, "run_name": null})";
  Parsed p;
  p.parse({"--config", (dir / "run.json").string()});
  EXPECT_EQ(p.args.learning_rate, 1e-3);
  EXPECT_EQ(p.args.max_steps, 10);
  EXPECT_FALSE(p.args.run_name.has_value());
}

TEST(ArgumentParser, ConfigErrorsNameFileAndLine) {
  testing::TempDir dir;
  std::ofstream(dir / "bad.yaml") << "learning_rate: 3e-4\nlearnig_rate: 1\n";
  auto msg = error_of({"--config", (dir / "bad.yaml").string()});
  EXPECT_NE(msg.find("bad.yaml:2: unknown argument --learnig_rate; did you mean --learning_rate?"), std::string::npos)
      << msg;
  std::ofstream(dir / "bad2.yaml") << "seed: 1\nmax_steps: many\n";
  msg = error_of({"--config", (dir / "bad2.yaml").string()});
  EXPECT_NE(msg.find("bad2.yaml:2: --max_steps: expected an integer"), std::string::npos) << msg;
  msg = error_of({"--config", (dir / "missing.yaml").string()});
  EXPECT_NE(msg.find("does not exist"), std::string::npos) << msg;
  std::ofstream(dir / "run.toml") << "x = 1\n";
  EXPECT_NE(error_of({"--config", (dir / "run.toml").string()}).find(".json, .yaml or .yml"), std::string::npos);
}

TEST(ArgumentParser, NullInAConfigFileMeansTheDefault) {
  testing::TempDir dir;
  std::ofstream(dir / "run.json")
      << R"({"output_dir": null, "run_name": null, "max_steps": null, "learning_rate": 0.5})";
  std::ofstream(dir / "run.yaml") << "output_dir: ~\nlogging_dir:\nlearning_rate: 0.25\n";
  for (const char* file : {"run.json", "run.yaml"}) {
    Parsed p;
    p.parse({"--config", (dir / file).string()});
    p.args.finalize();
    EXPECT_EQ(p.args.output_dir, "trainer_output") << file;
    EXPECT_FALSE(p.args.logging_dir.has_value()) << file;
    EXPECT_EQ(p.args.max_steps, -1) << file;
    EXPECT_FALSE(p.parser.given().count("output_dir")) << file;
  }
}

TEST(ArgumentParser, AConfigFileCannotNameAnother) {
  testing::TempDir dir;
  std::ofstream(dir / "run.yaml") << "learning_rate: 0.1\nconfig: other.yaml\n";
  const auto msg = error_of({"--config", (dir / "run.yaml").string()});
  EXPECT_NE(msg.find("run.yaml:2: a config file cannot name another one (key 'config')"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("did you mean"), std::string::npos) << msg;
}

TEST(ArgumentParser, ListsTakeSpacesOrCommas) {
  for (const auto& tokens : std::vector<std::vector<std::string>>{{"--report_to", "tensorboard", "log_history"},
                                                                  {"--report_to", "tensorboard,log_history"},
                                                                  {"--report_to=tensorboard, log_history"}}) {
    Parsed p;
    p.parse(tokens);
    EXPECT_EQ(p.args.report_to, (std::vector<std::string>{"tensorboard", "log_history"})) << tokens.back();
  }
  EXPECT_NE(error_of({"--report_to", ","}).find("expected at least one value"), std::string::npos);
}

TEST(ArgumentError, TheApiNamesFieldsTheCommandLineFlags) {
  const ArgumentError e("--save_steps (7) must be a multiple of --eval_steps; see --help");
  EXPECT_EQ(std::string(e.what()), "args.save_steps (7) must be a multiple of args.eval_steps; see args.help");
  EXPECT_EQ(e.command_line_message(), "--save_steps (7) must be a multiple of --eval_steps; see --help");
  EXPECT_EQ(api_spelling("a--b and --x2 --Y"), "a--b and args.x2 --Y");  // only flag-shaped words change
}

TEST(ArgumentParser, HelpListsEveryFlagWithDefaultAndMeaning) {
  Parsed p;
  p.parse({"--help"});
  EXPECT_TRUE(p.parser.help_requested());
  const auto help = p.parser.help();
  for (const auto& spec : p.parser.specs()) {
    EXPECT_NE(help.find("--" + spec.name + " "), std::string::npos) << spec.name;
    EXPECT_FALSE(spec.help.empty()) << spec.name;
  }
  EXPECT_NE(help.find("--learning_rate float (default: 5e-05)"), std::string::npos);
  EXPECT_NE(help.find("--report_to list[str] (default: [\"none\"])"), std::string::npos);
}

TEST(ArgumentParser, SecretsAreHiddenFromHelp) {
  std::string token = "hf_secret_value";
  ArgumentParser parser("x");
  auto spec = bind_argument("api_token", &token, "A token.");
  spec.secret = true;
  parser.add(spec);
  EXPECT_EQ(parser.help().find("hf_secret_value"), std::string::npos);
}

}  // namespace
}  // namespace trainer
