#include "train_command.h"

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <sstream>

#include <trainer/trainer.h>
#include "trainer/core/exit_codes.h"

namespace trainer::cli {
namespace {

namespace fs = std::filesystem;

// Options of the program itself, beside TrainingArguments.
struct TrainCommandOptions {
  std::string model = "mlp";
  std::optional<std::string> train_file;
  std::optional<std::string> eval_file;
  std::string dataset_dir = kFashionMnistDir;
  std::string label_column = "label";
  std::optional<int64_t> max_train_samples;
  std::optional<int64_t> max_eval_samples;
  std::optional<int64_t> early_stopping_patience;
  double early_stopping_threshold = 0.0;
};

std::vector<ArgumentSpec> command_specs(TrainCommandOptions& o) {
  std::vector<ArgumentSpec> s;
  s.push_back(bind_argument(
      "model", &o.model,
      "mlp, cnn, or the path of a TorchScript module (.pt) whose forward takes a batch and returns logits."));
  s.push_back(bind_argument("train_file", &o.train_file,
                            "Training data: a CSV file with a label column, or an idx images file (labels beside it). "
                            "Default: Fashion-MNIST train split."));
  s.push_back(
      bind_argument("eval_file", &o.eval_file, "Evaluation data, same formats. Default: Fashion-MNIST test split."));
  s.push_back(bind_argument("dataset_dir", &o.dataset_dir, "Where Fashion-MNIST's idx files are."));
  s.push_back(bind_argument("label_column", &o.label_column, "The label column of CSV files."));
  s.push_back(bind_argument("max_train_samples", &o.max_train_samples, "Train on the first N examples only."));
  s.push_back(bind_argument("max_eval_samples", &o.max_eval_samples, "Evaluate on the first N examples only."));
  s.push_back(bind_argument("early_stopping_patience", &o.early_stopping_patience,
                            "Add an EarlyStoppingCallback with this patience (needs --eval_strategy)."));
  s.push_back(bind_argument("early_stopping_threshold", &o.early_stopping_threshold,
                            "Smallest improvement that resets the early-stopping patience."));
  return s;
}

// output_dir/training_args.json, written when training starts (a run that has nothing to do writes nothing).
struct SaveArgumentsCallback : TrainerCallback {
  void on_train_begin(const Args& args, TrainerState& state, TrainerControl&, CallbackContext&) override {
    if (!state.is_world_process_zero) return;
    fs::create_directories(args.output_dir);
    write_file_atomic(fs::path(args.output_dir) / "training_args.json", dump_json(args.to_json()) + "\n");
  }
};

// The number of classes the labels call for, refusing label values that cannot be class indices
// of these data (a stray 1000000000 would build a model with a billion outputs).
int64_t count_classes(const TensorDataset& train, const TensorDataset* eval, const std::string& source) {
  auto labels = eval ? torch::cat({train.labels, eval->labels}) : train.labels;
  const int64_t largest = labels.max().item<int64_t>();
  const int64_t distinct = std::get<0>(torch::_unique(labels)).numel();
  constexpr int64_t kPlentyOfClasses = 1000;
  if (largest + 1 > kPlentyOfClasses && largest + 1 > 10 * distinct)
    throw ArgumentError(source + ": the labels go up to " + std::to_string(largest) +
                        ", which would make a model with " + std::to_string(largest + 1) + " outputs, but only " +
                        std::to_string(distinct) +
                        " distinct labels appear; labels are class indices 0, 1, 2, ...: renumber them");
  return std::max<int64_t>(largest + 1, 2);
}

std::shared_ptr<Model> make_model(const std::string& name, const TensorDataset& train, int64_t classes) {
  if (name == "mlp" || name == "cnn") return make_builtin_model(name, train.inputs[0].numel(), classes);
  if (!fs::exists(name)) {
    std::string msg = "--model: '" + name + "' is neither a built-in model (mlp, cnn) nor an existing file";
    const auto near = closest_match(name, {"mlp", "cnn"});
    msg += near.empty() ? "; pass mlp, cnn or the path of a TorchScript module (.pt)"
                        : "; did you mean --model " + near + "?";
    throw ArgumentError(msg);
  }
  return load_script_model(name);
}

std::string describe_error(const c10::Error& e) {
  // LibTorch's messages carry a C++ backtrace; users see it with --log_level debug only.
  return log_level() <= LogLevel::debug ? e.what() : e.what_without_backtrace();
}

std::shared_ptr<TensorDataset> take_first(std::shared_ptr<TensorDataset> d, const std::optional<int64_t>& n,
                                          const char* flag) {
  if (!n) return d;
  if (*n < 1) throw ArgumentError(std::string("--") + flag + ": must be >= 1");
  if (*n >= d->size()) return d;
  return std::make_shared<TensorDataset>(d->inputs.slice(0, 0, *n), d->labels.slice(0, 0, *n));
}

}  // namespace

// The main job's defaults. TrainingArguments keeps the original's defaults (learning rate 5e-5,
// batch 8, which suit fine-tuning); training Fashion-MNIST from scratch wants a larger step and
// batch, an evaluation per epoch, and a checkpoint per epoch rather than every 500 steps.
TrainingArguments fashion_mnist_defaults() {
  TrainingArguments a;
  a.learning_rate = 1e-3;
  a.per_device_train_batch_size = 32;
  a.per_device_eval_batch_size = 256;
  a.eval_strategy = IntervalStrategy::epoch;
  a.save_strategy = SaveStrategy::epoch;
  a.logging_steps = 200;
  return a;
}

namespace {

// Parses the command line into `args` and `opts`; an exit status when the command ends here (help,
// a bad argument).
std::optional<int> parse_command_line(const std::vector<std::string>& tokens, TrainingArguments& args,
                                      TrainCommandOptions& opts) {
  ArgumentParser parser(
      "trainer train",
      "Trains a model with the Hugging Face Trainer's arguments, callbacks and checkpoints. The defaults train\n"
      "the built-in MLP on Fashion-MNIST and report the test accuracy. Defaults shown below are this\n"
      "program's: learning_rate, batch sizes, eval/save strategies and logging_steps differ from the\n"
      "TrainingArguments defaults (the original's) to suit training from scratch.");
  parser.add(command_specs(opts));
  parser.add(training_argument_specs(args));
  parser.refuse(original_arguments_not_supported());
  try {
    parser.parse(tokens);
    if (parser.help_requested()) {
      std::cout << parser.help() << "\n" << integrations_help();
      return kOk;
    }
    // Without evaluation data (--train_file alone) the job's per-epoch evaluation is dropped,
    // unless the user asked for an evaluation strategy.
    const bool has_eval_data = opts.eval_file.has_value() || !opts.train_file.has_value();
    if (!has_eval_data && !parser.given().count("eval_strategy")) args.eval_strategy = IntervalStrategy::no;
    args.finalize();
  } catch (const ArgumentError& e) {
    std::cerr << "trainer train: error: " << e.command_line_message() << "\n";
    return kUsageError;
  }
  return std::nullopt;
}

struct JobData {
  std::shared_ptr<TensorDataset> train, eval;  // eval: null with --train_file alone
  int64_t classes = 0;
};

JobData load_job_data(const TrainCommandOptions& opts) {
  JobData d;
  d.train = opts.train_file ? load_dataset_file(*opts.train_file, opts.label_column)
                            : load_fashion_mnist("train", opts.dataset_dir);
  d.eval = opts.eval_file ? load_dataset_file(*opts.eval_file, opts.label_column, d.train->feature_names)
                          : (opts.train_file ? nullptr : load_fashion_mnist("test", opts.dataset_dir));
  d.train = take_first(d.train, opts.max_train_samples, "max_train_samples");
  if (d.eval) d.eval = take_first(d.eval, opts.max_eval_samples, "max_eval_samples");
  d.classes = count_classes(*d.train, d.eval.get(), opts.train_file ? "--train_file" : "--dataset_dir");
  return d;
}

std::vector<std::shared_ptr<TrainerCallback>> job_callbacks(const TrainCommandOptions& opts) {
  PreemptionCallback::install_signal_handlers();
  std::vector<std::shared_ptr<TrainerCallback>> callbacks = {std::make_shared<PreemptionCallback>(),
                                                             std::make_shared<SaveArgumentsCallback>()};
  if (opts.early_stopping_patience)
    callbacks.push_back(
        std::make_shared<EarlyStoppingCallback>(*opts.early_stopping_patience, opts.early_stopping_threshold));
  return callbacks;
}

// What the run came to, on `out` (results) and `info` (notes); returns the exit status.
int report_outcome(Trainer& trainer, const TrainOutput& result, const JobData& data, std::ostream& out,
                   std::ostream& info) {
  if (result.already_complete) {
    out << "Nothing to do: " << result.resumed_from << " has already trained " << result.global_step << " of "
        << result.max_steps << " steps. Raise --max_steps or --num_train_epochs to train further, or train into a "
        << "new --output_dir.\n";
    return kOk;
  }
  if (int sig = PreemptionCallback::requested_signal()) {
    const auto ckpt = fs::path(trainer.args().output_dir) / checkpoint_dir_name(result.global_step);
    info << "Stopped by " << (sig == SIGTERM ? "SIGTERM" : "SIGINT") << " after step " << result.global_step
         << "; checkpoint saved in " << ckpt.string() << ".\nResume with the same command and "
         << "--resume_from_checkpoint last\n";
    return kPreempted;
  }
  out << "train_loss " << python_float_repr(result.training_loss) << " after " << result.global_step << " steps"
      << (result.resumed_from.empty() ? std::string() : " (resumed from " + result.resumed_from + ")") << "\n";
  if (data.eval) {
    // The loop's own evaluation at the final step, when there was one, is the final evaluation.
    const auto reused = trainer.evaluation_of_current_weights();
    const Json metrics = reused ? *reused : trainer.evaluate();
    out << "test accuracy: " << metrics.value("eval_accuracy", 0.0) << " (loss " << metrics.value("eval_loss", 0.0)
        << ", " << data.eval->size() << " examples)\n";
  }
  trainer.save_state();
  return kOk;
}

int train_job(const TrainingArguments& args, const TrainCommandOptions& opts) {
  set_seed(args.seed);  // before the model is built, so the same seed gives the same weights
  const JobData data = load_job_data(opts);
  auto model = make_model(opts.model, *data.train, data.classes);
  Trainer trainer(model, args, data.train, data.eval, job_callbacks(opts), compute_accuracy);
  // In a data-parallel job, rank 0 alone speaks (errors aside), as it alone writes.
  std::ostringstream muted;
  std::ostream& out = trainer.process().is_world_process_zero() ? std::cout : muted;
  std::ostream& info = trainer.process().is_world_process_zero() ? std::cerr : muted;
  info << "Training " << opts.model << " (" << model->num_parameters() << " parameters, " << data.classes
       << " classes) on " << data.train->size() << " examples, device " << trainer.device()
       << (trainer.process().distributed() ? ", " + std::to_string(trainer.process().world_size) + " processes"
                                           : std::string())
       << "\n";
  const auto result = trainer.train();
  return report_outcome(trainer, result, data, out, info);
}

// Says what ended the job and returns its exit status (docs/errors.md).
int exit_status_of(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const DistributedError& e) {
    std::cerr << "trainer train: error: " << e.what() << "\n";
    return kPeerLost;
  } catch (const StopRequested& e) {
    std::cerr << "trainer train: " << e.what() << "\n";
    return kPreempted;
  } catch (const ArgumentError& e) {
    std::cerr << "trainer train: error: " << e.command_line_message() << "\n";
    return kUsageError;
  } catch (const TrainingDivergedError& e) {
    std::cerr << "trainer train: error: " << e.what() << "\n";
    return kDiverged;
  } catch (const c10::Error& e) {
    std::cerr << "trainer train: error: " << describe_error(e) << "\n";
    return kRuntimeError;
  } catch (const std::exception& e) {
    std::cerr << "trainer train: error: " << e.what() << "\n";
    return kRuntimeError;
  }
}

}  // namespace

int run_train(const std::vector<std::string>& tokens) {
  TrainingArguments args = fashion_mnist_defaults();
  TrainCommandOptions opts;
  if (const auto status = parse_command_line(tokens, args, opts)) return *status;
  try {
    return train_job(args, opts);
  } catch (...) {
    return exit_status_of(std::current_exception());
  }
}

}  // namespace trainer::cli
