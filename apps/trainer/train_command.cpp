#include "train_command.h"

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>

#include <trainer/trainer.h>

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
  s.push_back(bind_argument("model", &o.model, "mlp, cnn, or the path of a TorchScript module (.pt) whose forward takes a batch and returns logits."));
  s.push_back(bind_argument("train_file", &o.train_file, "Training data: a CSV file with a label column, or an idx images file (labels beside it). Default: Fashion-MNIST train split."));
  s.push_back(bind_argument("eval_file", &o.eval_file, "Evaluation data, same formats. Default: Fashion-MNIST test split."));
  s.push_back(bind_argument("dataset_dir", &o.dataset_dir, "Where Fashion-MNIST's idx files are."));
  s.push_back(bind_argument("label_column", &o.label_column, "The label column of CSV files."));
  s.push_back(bind_argument("max_train_samples", &o.max_train_samples, "Train on the first N examples only."));
  s.push_back(bind_argument("max_eval_samples", &o.max_eval_samples, "Evaluate on the first N examples only."));
  s.push_back(bind_argument("early_stopping_patience", &o.early_stopping_patience, "Add an EarlyStoppingCallback with this patience (needs --eval_strategy)."));
  s.push_back(bind_argument("early_stopping_threshold", &o.early_stopping_threshold, "Smallest improvement that resets the early-stopping patience."));
  return s;
}

std::shared_ptr<TensorDataset> take_first(std::shared_ptr<TensorDataset> d, const std::optional<int64_t>& n, const char* flag) {
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
  a.eval_strategy = "epoch";
  a.save_strategy = "epoch";
  a.logging_steps = 200;
  return a;
}

int run_train(const std::vector<std::string>& tokens) {
  TrainingArguments args = fashion_mnist_defaults();
  TrainCommandOptions opts;
  ArgumentParser parser("trainer train",
                        "Trains a model with the Hugging Face Trainer's arguments, callbacks and checkpoints. The defaults train\n"
                        "the built-in MLP on Fashion-MNIST and report the test accuracy. Defaults shown below are this\n"
                        "program's: learning_rate, batch sizes, eval/save strategies and logging_steps differ from the\n"
                        "TrainingArguments defaults (the original's) to suit training from scratch.");
  parser.add(command_specs(opts));
  parser.add(training_argument_specs(args));
  try {
    parser.parse(tokens);
    if (parser.help_requested()) {
      std::cout << parser.help();
      return kOk;
    }
    // Without evaluation data (--train_file alone) the job's per-epoch evaluation is dropped,
    // unless the user asked for an evaluation strategy.
    const bool has_eval_data = opts.eval_file.has_value() || !opts.train_file.has_value();
    if (!has_eval_data && !parser.given().count("eval_strategy")) args.eval_strategy = "no";
    args.finalize();
  } catch (const ArgumentError& e) {
    std::cerr << "trainer train: error: " << e.what() << "\n";
    return kUsageError;
  }

  try {
    set_seed(args.seed);  // before the model is built, so the same seed gives the same weights
    auto train = opts.train_file ? load_dataset_file(*opts.train_file, opts.label_column) : load_fashion_mnist("train", opts.dataset_dir);
    auto eval = opts.eval_file ? load_dataset_file(*opts.eval_file, opts.label_column)
                               : (opts.train_file ? nullptr : load_fashion_mnist("test", opts.dataset_dir));
    train = take_first(train, opts.max_train_samples, "max_train_samples");
    if (eval) eval = take_first(eval, opts.max_eval_samples, "max_eval_samples");

    std::shared_ptr<Model> model;
    if (opts.model == "mlp" || opts.model == "cnn") {
      const int64_t features = train->inputs[0].numel();
      const int64_t classes = std::max<int64_t>(train->labels.max().item<int64_t>() + 1,
                                                eval ? eval->labels.max().item<int64_t>() + 1 : 0);
      model = make_builtin_model(opts.model, features, std::max<int64_t>(classes, 2));
    } else {
      model = load_script_model(opts.model);
    }

    PreemptionCallback::install_signal_handlers();
    std::vector<std::shared_ptr<TrainerCallback>> callbacks = {std::make_shared<PreemptionCallback>()};
    if (opts.early_stopping_patience)
      callbacks.push_back(std::make_shared<EarlyStoppingCallback>(*opts.early_stopping_patience, opts.early_stopping_threshold));

    Trainer trainer(model, args, train, eval, callbacks, compute_accuracy);
    fs::create_directories(trainer.args().output_dir);
    write_file_atomic(fs::path(trainer.args().output_dir) / "training_args.json", dump_json(trainer.args().to_json()) + "\n");

    std::cerr << "Training " << opts.model << " (" << model->num_parameters() << " parameters) on " << train->size()
              << " examples, device " << trainer.device() << "\n";
    auto result = trainer.train();
    if (int sig = PreemptionCallback::requested_signal()) {
      const auto ckpt = fs::path(trainer.args().output_dir) / checkpoint_dir_name(result.global_step);
      std::cerr << "Stopped by " << (sig == SIGTERM ? "SIGTERM" : "SIGINT") << " after step " << result.global_step
                << "; checkpoint saved in " << ckpt.string() << ".\nResume with the same command and "
                << "--resume_from_checkpoint last\n";
      return kPreempted;
    }
    std::cout << "train_loss " << python_float_repr(result.training_loss) << " after " << result.global_step << " steps\n";
    if (eval) {
      auto metrics = trainer.evaluate();
      std::cout << "test accuracy: " << metrics.value("eval_accuracy", 0.0) << " (loss " << metrics.value("eval_loss", 0.0)
                << ", " << eval->size() << " examples)\n";
    }
    trainer.save_state();
    return kOk;
  } catch (const ArgumentError& e) {
    std::cerr << "trainer train: error: " << e.what() << "\n";
    return kUsageError;
  } catch (const TrainingDivergedError& e) {
    std::cerr << "trainer train: error: " << e.what() << "\n";
    return kDiverged;
  } catch (const std::exception& e) {
    std::cerr << "trainer train: error: " << e.what() << "\n";
    return kRuntimeError;
  }
}

}  // namespace trainer::cli
