#include "trainer/torch/checkpoint_manager.h"

#include <cmath>
#include <functional>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "trainer/core/atomic_file.h"
#include "trainer/core/callback_handler.h"
#include "trainer/core/checkpoint_source.h"
#include "trainer/core/logging.h"
#include "trainer/core/lr_scheduler.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/training_arguments.h"
#include "trainer/torch/checkpoint.h"
#include "trainer/torch/distributed/data_parallel.h"
#include "trainer/torch/model.h"
#include "trainer/torch/safetensors.h"

namespace trainer {

namespace fs = std::filesystem;

CheckpointManager::CheckpointManager(const TrainingArguments& args, const ProcessInfo& process)
    : args_(args), process_(process), args_json_text_(dump_json(args.to_json()) + "\n") {}

CheckpointManager::~CheckpointManager() = default;

// ---- resuming ------------------------------------------------------------------------------------

std::optional<ResumePoint> CheckpointManager::find_resume_point(const std::optional<std::string>& request,
                                                                torch::Device device) const {
  const auto dir = resolve_resume_dir(request);
  if (!dir) return std::nullopt;
  // The checkpoint's state files, read once: they decide whether there is anything to do.
  ResumePoint resume{*dir, TrainerState::load_from_json(*dir / "trainer_state.json"), std::nullopt};
  if (fs::exists(*dir / "loop_state.json")) resume.loop = LoopState::read(*dir / "loop_state.json", device);
  return resume;
}

std::optional<fs::path> CheckpointManager::resolve_resume_dir(const std::optional<std::string>& request) const {
  const auto& r = request ? request : args_.resume_from_checkpoint;
  if (!r) return restore_from_checkpoint_sources(args_);  // a retried job resumes from its last attempt (Flyte)
  if (r->empty() || *r == "false" || *r == "False") return std::nullopt;
  if (*r == "last" || *r == "true" || *r == "True") {
    auto found = latest_valid_checkpoint(args_.output_dir);
    if (!found && process_.agent_store) {
      // Under torchrun, the same command starts the job and restarts it (--max_restarts): a first
      // attempt, or one that failed before its first save, has nothing to resume yet.
      log_info("--resume_from_checkpoint " + *r + ": no checkpoint in " + args_.output_dir +
               " yet; training from the start");
      return std::nullopt;
    }
    if (!found)
      throw ArgumentError("--resume_from_checkpoint " + *r + ": no checkpoint to resume from in --output_dir " +
                          args_.output_dir);
    return found;
  }
  const auto problem = checkpoint_problem(*r);
  if (!problem.empty())
    throw ArgumentError(
        "--resume_from_checkpoint: " + *r + " cannot be resumed from (" + problem +
        "); name another checkpoint, or pass last to resume from the newest complete one in --output_dir");
  return fs::path(*r);
}

void CheckpointManager::check_resume_compatible(const ResumePoint& resume, int64_t train_examples) const {
  const fs::path& dir = resume.dir;
  std::vector<std::string> blocking;
  if (fs::exists(dir / "training_args.json")) {
    const auto diff = compare_resume_arguments(read_json_file(dir / "training_args.json"), args_);
    for (const auto& line : diff.changes_training)
      log_warning("Resuming " + dir.string() + " with other arguments: " + line);
    blocking = diff.changes_batches;
  }
  const auto saved_examples = resume.loop ? resume.loop->num_train_examples : std::nullopt;
  if (saved_examples && *saved_examples != train_examples)
    blocking.push_back("the training data: " + std::to_string(train_examples) + " examples now, " +
                       std::to_string(*saved_examples) + " in the checkpoint");
  if (blocking.empty()) return;
  std::string list;
  for (const auto& line : blocking) list += "\n  " + line;
  if (args_.force_resume) {
    log_warning("--force_resume: resuming " + dir.string() +
                " although its batches differ (the data position is approximate):" + list);
    return;
  }
  throw ArgumentError(
      "--resume_from_checkpoint: " + dir.string() +
      " was trained on other batches, so its data position means nothing for this run:" + list +
      "\nResume with the checkpoint's values, train into a new --output_dir, or pass --force_resume to resume anyway");
}

namespace {

void load_checkpoint_weights(Model& model, const fs::path& dir) {
  try {
    model.load_state_dict(load_safetensors(dir / "model.safetensors"));
  } catch (const std::runtime_error& e) {
    throw ArgumentError("--resume_from_checkpoint: " + dir.string() + " holds a different model (" + e.what() +
                        "); resume with the model it was trained with, or train into a new --output_dir");
  }
}

// The checkpoint's state replaces the run's, except what describes this run rather than the
// checkpoint's (the plan and which process this is).
void adopt_saved_state(TrainerState& state, TrainerState saved) {
  if (saved.logging_steps != state.logging_steps || saved.eval_steps != state.eval_steps ||
      saved.save_steps != state.save_steps)
    log_warning(
        "The checkpoint's logging/eval/save intervals differ from the current arguments; the checkpoint's are used");
  saved.max_steps = state.max_steps;
  saved.num_train_epochs = state.num_train_epochs;
  saved.is_world_process_zero = state.is_world_process_zero;
  saved.is_local_process_zero = state.is_local_process_zero;
  state = std::move(saved);
  if (state.best_model_checkpoint && !fs::exists(*state.best_model_checkpoint)) {
    log_warning("best_model_checkpoint " + *state.best_model_checkpoint + " no longer exists; forgetting it");
    state.best_model_checkpoint.reset();
  }
}

}  // namespace

void CheckpointManager::restore(ResumePoint& resume, CheckpointSubjects s, LoopState& loop) const {
  const fs::path& dir = resume.dir;
  log_info("Resuming from " + dir.string());
  load_checkpoint_weights(s.model, dir);
  if (fs::exists(dir / "optimizer.safetensors") && fs::exists(dir / "scheduler.json")) {
    load_optimizer_state(s.optimizer, dir / "optimizer.safetensors");
    s.scheduler.load_state_dict(read_json_file(dir / "scheduler.json"));
  }
  s.parallel.restore_rng_state(dir);
  adopt_saved_state(s.state, std::move(resume.state));
  // The loss accumulated since the last log, so the next log and train_loss match an uninterrupted run.
  if (resume.loop) {
    loop = std::move(*resume.loop);
    s.parallel.restore_loop(loop, s.state.is_world_process_zero);
  } else {
    loop.last_logged_step = s.state.global_step;
  }
  loop.examples_seen = 0;
  if (args_.restore_callback_states_from_checkpoint)
    restore_callback_states(s.callbacks, s.control, s.state.stateful_callbacks);
}

void restore_callback_states(CallbackHandler& callbacks, TrainerControl& control, const Json& stored) {
  if (!stored.is_object()) return;
  std::vector<std::string> unmatched;
  for (auto it = stored.begin(); it != stored.end(); ++it) {
    const std::string& name = it.key();
    if (name == "TrainerControl") {
      control = TrainerControl::from_state(it.value());
      continue;
    }
    const Json states = it.value().is_array() ? it.value() : Json::array({it.value()});
    size_t next = 0;
    // Restored in place: the callbacks keep their positions in the list.
    for (const auto& cb : callbacks.callbacks()) {
      auto* exportable = dynamic_cast<ExportableState*>(cb.get());
      if (!exportable || cb->name() != name || next >= states.size()) continue;
      exportable->load_state(states[next++]);
    }
    if (next == 0) unmatched.push_back(name);
  }
  if (!unmatched.empty()) {
    std::string names;
    for (const auto& n : unmatched) names += (names.empty() ? "" : ", ") + n;
    log_warning("Checkpoint included callbacks not included in current configuration. Ignoring. (" + names + ")");
  }
}

// ---- saving --------------------------------------------------------------------------------------

void CheckpointManager::begin_run() {
  writer_ = std::make_unique<CheckpointWriter>(args_.save_async);
  saves_ = 0;
}

void CheckpointManager::set_best_model_checkpoint(TrainerState& state) const {
  if (!state.best_global_step) return;
  const fs::path best = fs::path(args_.output_dir) / checkpoint_dir_name(*state.best_global_step);
  // Other ranks keep what they had: the folder is rank 0's, and may not be on their disk.
  if (*state.best_global_step == state.global_step || (state.is_world_process_zero && fs::exists(best)))
    state.best_model_checkpoint = best.string();
}

void CheckpointManager::save(CheckpointSubjects s, const LoopState& loop,
                             const std::optional<LoopState::Accumulated>& accumulated, int64_t train_examples) {
  CheckpointFiles files;
  if (accumulated) s.parallel.add_rng_state_files(files, s.state.is_world_process_zero);
  set_best_model_checkpoint(s.state);
  s.state.stateful_callbacks = stateful_callback_states(s.callbacks, s.control);
  ++saves_;
  if (!s.state.is_world_process_zero) return;
  // The loop only copies the state (tensors to host memory, small files serialised); encoding and
  // writing the large files happens in the writer, on its thread with --save_async.
  NamedTensors weights;
  for (auto& [name, t] : s.model.state_dict()) weights.emplace_back(name, snapshot_pool_.copy("model." + name, t));
  files.emplace_back("model.safetensors", [weights = std::move(weights)] { return safetensors_bytes(weights); });
  files.emplace_back("training_args.json", contents(args_json_text_));
  if (accumulated) {
    files.emplace_back("optimizer.safetensors", [snapshot = snapshot_optimizer(s.optimizer, &snapshot_pool_)] {
      return optimizer_state_bytes(snapshot);
    });
    files.emplace_back("scheduler.json", contents(dump_json(s.scheduler.state_dict()) + "\n"));
    LoopState saved = loop;
    saved.num_train_examples = train_examples;
    saved.world_size = process_.world_size;
    files.emplace_back("loop_state.json", contents(dump_json(saved.to_json(*accumulated)) + "\n"));
  }
  files.emplace_back("trainer_state.json", contents(s.state.to_json_string()));

  std::function<void()> rotate;
  if (args_.save_total_limit)
    rotate = [run_dir = fs::path(args_.output_dir), limit = *args_.save_total_limit,
              best = s.state.best_model_checkpoint] { rotate_checkpoints(run_dir, limit, best); };
  writer_->submit(args_.output_dir, s.state.global_step, std::move(files), std::move(rotate));
}

Json stateful_callback_states(const CallbackHandler& callbacks, const TrainerControl& control) {
  Json stateful = Json::object();
  for (const auto& cb : callbacks.callbacks()) {
    auto* exportable = dynamic_cast<ExportableState*>(cb.get());
    if (!exportable) continue;
    const std::string name = cb->name();
    if (!stateful.contains(name))
      stateful[name] = exportable->state();
    else if (stateful[name].is_array())
      stateful[name].push_back(exportable->state());
    else
      stateful[name] = Json::array({stateful[name], exportable->state()});
  }
  stateful["TrainerControl"] = control.state();
  return stateful;
}

void CheckpointManager::publish_completed(CallbackHandler& callbacks, TrainerState& state, TrainerControl& control) {
  if (!writer_) return;
  for (const auto& dir : writer_->take_published())
    callbacks.on_checkpoint_published(args_, state, control, dir.string());
}

void CheckpointManager::finish_writing(CallbackHandler& callbacks, TrainerState& state, TrainerControl& control) {
  if (writer_) writer_->wait();
  publish_completed(callbacks, state, control);
}

// ---- the end of training -------------------------------------------------------------------------

bool CheckpointManager::load_best_model(Model& model, const TrainerState& state) const {
  const fs::path weights = fs::path(*state.best_model_checkpoint) / "model.safetensors";
  if (!fs::exists(weights)) {
    log_warning("Could not locate the best model at " + weights.string() +
                "; keeping the last weights (in a job over several hosts, checkpoints are on world rank 0's disk)");
    return false;
  }
  log_info("Loading best model from " + *state.best_model_checkpoint +
           " (score: " + python_float_repr(*state.best_metric) + ")");
  model.load_state_dict(load_safetensors(weights));
  return true;
}

void CheckpointManager::delete_all_but_best(const TrainerState& state) const {
  for (const auto& ckpt : sorted_checkpoints(args_.output_dir)) {
    if (ckpt.lexically_normal() == fs::path(*state.best_model_checkpoint).lexically_normal()) continue;
    log_info("Deleting older checkpoint [" + ckpt.string() + "] due to save_total_limit");
    remove_checkpoint(ckpt);
  }
}

void CheckpointManager::save_state(const TrainerState& state) const {
  if (!state.is_world_process_zero) return;
  fs::create_directories(args_.output_dir);
  write_file_atomic(fs::path(args_.output_dir) / "trainer_state.json", state.to_json_string());
}

void CheckpointManager::save_model(Model& model, const std::string& dir) const {
  if (!process_.is_world_process_zero()) return;  // one copy of the weights per job, as the original's should_save
  fs::create_directories(dir);
  save_safetensors(fs::path(dir) / "model.safetensors", model.state_dict());
  write_file_atomic(fs::path(dir) / "training_args.json", args_json_text_);
}

}  // namespace trainer
