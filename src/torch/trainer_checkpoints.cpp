#include "trainer/torch/trainer.h"

#include <torch/torch.h>

#include "trainer/core/atomic_file.h"
#include "trainer/core/checkpoint_source.h"
#include "trainer/core/logging.h"
#include "trainer/torch/checkpoint.h"
#include "trainer/torch/distributed/data_parallel.h"
#include "trainer/torch/optimizer_state.h"
#include "trainer/torch/rng_state.h"
#include "trainer/torch/safetensors.h"

// The Trainer's checkpoints: finding and restoring one to resume from, saving one, and telling
// callbacks when it is complete.

namespace trainer {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// ---- resuming ------------------------------------------------------------------------------------

std::optional<Trainer::ResumePoint> Trainer::find_resume_point(const std::optional<std::string>& request) {
  const auto dir = resolve_resume_dir(request);
  if (!dir) return std::nullopt;
  // The checkpoint's state files, read once: they decide whether there is anything to do.
  ResumePoint resume{*dir, TrainerState::load_from_json(*dir / "trainer_state.json"), std::nullopt};
  if (fs::exists(*dir / "loop_state.json")) resume.loop = LoopState::read(*dir / "loop_state.json", device_);
  return resume;
}

std::optional<fs::path> Trainer::resolve_resume_dir(const std::optional<std::string>& request) const {
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

void Trainer::check_resume_compatible(const ResumePoint& resume) {
  const fs::path& dir = resume.dir;
  std::vector<std::string> blocking;
  if (fs::exists(dir / "training_args.json")) {
    const auto diff = compare_resume_arguments(read_json_file(dir / "training_args.json"), args_);
    for (const auto& line : diff.changes_training)
      log_warning("Resuming " + dir.string() + " with other arguments: " + line);
    blocking = diff.changes_batches;
  }
  const auto saved_examples = resume.loop ? resume.loop->num_train_examples : std::nullopt;
  if (saved_examples && *saved_examples != train_dataset_->size())
    blocking.push_back("the training data: " + std::to_string(train_dataset_->size()) + " examples now, " +
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

// One place, one order: weights, optimizer, scheduler, random state, trainer and loop state, callbacks.
void Trainer::restore_checkpoint(ResumePoint& resume, LoopState& loop) {
  const fs::path& dir = resume.dir;
  log_info("Resuming from " + dir.string());
  load_checkpoint_weights(dir);
  if (fs::exists(dir / "optimizer.safetensors") && fs::exists(dir / "scheduler.json")) {
    load_optimizer_state(*optimizer_, dir / "optimizer.safetensors");
    lr_scheduler_->load_state_dict(read_json_file(dir / "scheduler.json"));
  }
  parallel_->restore_rng_state(dir);

  TrainerState saved = std::move(resume.state);
  if (saved.logging_steps != state_.logging_steps || saved.eval_steps != state_.eval_steps ||
      saved.save_steps != state_.save_steps)
    log_warning(
        "The checkpoint's logging/eval/save intervals differ from the current arguments; the checkpoint's are used");
  saved.max_steps = state_.max_steps;
  saved.num_train_epochs = state_.num_train_epochs;
  saved.is_world_process_zero = state_.is_world_process_zero;
  saved.is_local_process_zero = state_.is_local_process_zero;
  state_ = std::move(saved);
  if (state_.best_model_checkpoint && !fs::exists(*state_.best_model_checkpoint)) {
    log_warning("best_model_checkpoint " + *state_.best_model_checkpoint + " no longer exists; forgetting it");
    state_.best_model_checkpoint.reset();
  }
  // The loss accumulated since the last log, so the next log and train_loss match an uninterrupted run.
  if (resume.loop) {
    loop = std::move(*resume.loop);
    parallel_->restore_loop(loop, state_.is_world_process_zero);
  } else {
    loop.last_logged_step = state_.global_step;
  }
  loop.examples_seen = 0;

  if (args_.restore_callback_states_from_checkpoint) restore_callback_states(state_.stateful_callbacks);
}

void Trainer::load_checkpoint_weights(const fs::path& dir) {
  try {
    model_->load_state_dict(load_safetensors(dir / "model.safetensors"));
  } catch (const std::runtime_error& e) {
    throw ArgumentError("--resume_from_checkpoint: " + dir.string() + " holds a different model (" + e.what() +
                        "); resume with the model it was trained with, or train into a new --output_dir");
  }
  ++weights_version_;
}

void Trainer::restore_callback_states(const Json& stored) {
  if (!stored.is_object()) return;
  std::vector<std::string> unmatched;
  for (auto it = stored.begin(); it != stored.end(); ++it) {
    const std::string& name = it.key();
    if (name == "TrainerControl") {
      control_ = TrainerControl::from_state(it.value());
      continue;
    }
    const Json states = it.value().is_array() ? it.value() : Json::array({it.value()});
    size_t next = 0;
    // Restored in place: the callbacks keep their positions in the list.
    for (const auto& cb : handler_.callbacks()) {
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

void Trainer::save_checkpoint(LoopState& loop) {
  const auto started = Clock::now();
  const fs::path run_dir = args_.output_dir;
  const int64_t step = state_.global_step;
  // The previous asynchronous save must be published first: the best checkpoint may be that one.
  checkpoint_writer_->wait();
  deliver_published_checkpoints();
  // The original's store_flos() first, so that trainer_state.json counts every step it holds.
  // Every rank takes part (the loss and RNG states of all ranks go into the checkpoint); rank 0 alone writes.
  store_flos(loop);
  CheckpointFiles files;
  std::optional<LoopState::Accumulated> accumulated;
  if (!args_.save_only_model) {
    accumulated = read_accumulators(loop);
    parallel_->add_rng_state_files(files, state_.is_world_process_zero);
  }
  if (state_.best_global_step) {
    const fs::path best = run_dir / checkpoint_dir_name(*state_.best_global_step);
    // Other ranks keep what they had: the folder is rank 0's, and may not be on their disk.
    if (*state_.best_global_step == step || (state_.is_world_process_zero && fs::exists(best)))
      state_.best_model_checkpoint = best.string();
  }
  state_.stateful_callbacks = stateful_callback_states();
  ++saves_;
  if (!state_.is_world_process_zero) return;
  // The loop only copies the state (tensors to host memory, small files serialised); encoding and
  // writing the large files happens in the writer, on its thread with --save_async.
  NamedTensors weights;
  for (auto& [name, t] : model_->state_dict()) weights.emplace_back(name, snapshot_pool_.copy("model." + name, t));
  files.emplace_back("model.safetensors", [weights = std::move(weights)] { return safetensors_bytes(weights); });
  files.emplace_back("training_args.json", contents(args_json_text_));
  if (accumulated) {
    files.emplace_back("optimizer.safetensors", [snapshot = snapshot_optimizer(*optimizer_, &snapshot_pool_)] {
      return optimizer_state_bytes(snapshot);
    });
    files.emplace_back("scheduler.json", contents(dump_json(lr_scheduler_->state_dict()) + "\n"));
    LoopState saved = loop;
    saved.num_train_examples = train_dataset_->size();
    saved.world_size = process_.world_size;
    files.emplace_back("loop_state.json", contents(dump_json(saved.to_json(*accumulated)) + "\n"));
  }
  files.emplace_back("trainer_state.json", contents(state_.to_json_string()));

  std::function<void()> rotate;
  if (args_.save_total_limit)
    rotate = [run_dir, limit = *args_.save_total_limit, best = state_.best_model_checkpoint] {
      rotate_checkpoints(run_dir, limit, best);
    };
  checkpoint_writer_->submit(run_dir, step, std::move(files), std::move(rotate));
  save_stall_seconds_ += std::chrono::duration<double>(Clock::now() - started).count();
}

// Stateful callbacks, replaced (not appended) on every save; duplicates become a list.
Json Trainer::stateful_callback_states() const {
  Json stateful = Json::object();
  for (const auto& cb : handler_.callbacks()) {
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
  stateful["TrainerControl"] = control_.state();
  return stateful;
}

void Trainer::deliver_published_checkpoints() {
  if (!checkpoint_writer_) return;
  for (const auto& dir : checkpoint_writer_->take_published())
    handler_.on_checkpoint_published(args_, state_, control_, dir.string());
}

void Trainer::load_best_model() {
  const fs::path weights = fs::path(*state_.best_model_checkpoint) / "model.safetensors";
  if (!fs::exists(weights)) {
    log_warning(
        "Could not locate the best model at " + weights.string() +
        ", if you are running distributed training on multiple nodes, you should activate `--save_on_each_node`.");
    return;
  }
  log_info("Loading best model from " + *state_.best_model_checkpoint +
           " (score: " + python_float_repr(*state_.best_metric) + ")");
  model_->load_state_dict(load_safetensors(weights));
  ++weights_version_;
}

void Trainer::delete_checkpoints_except_best() {
  for (const auto& ckpt : sorted_checkpoints(args_.output_dir)) {
    if (ckpt.lexically_normal() == fs::path(*state_.best_model_checkpoint).lexically_normal()) continue;
    log_info("Deleting older checkpoint [" + ckpt.string() + "] due to save_total_limit");
    remove_checkpoint(ckpt);
  }
}

void Trainer::save_state() {
  if (!state_.is_world_process_zero) return;
  fs::create_directories(args_.output_dir);
  write_file_atomic(fs::path(args_.output_dir) / "trainer_state.json", state_.to_json_string());
}

void Trainer::save_model(const std::string& dir) {
  if (!state_.is_world_process_zero) return;  // one copy of the weights per job, as the original's should_save
  fs::create_directories(dir);
  save_safetensors(fs::path(dir) / "model.safetensors", model_->state_dict());
  write_file_atomic(fs::path(dir) / "training_args.json", args_json_text_);
}

}  // namespace trainer
