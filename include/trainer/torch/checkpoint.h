#pragma once
// Checkpoint directories: `checkpoint-<step>/` written into a temporary directory and renamed into
// place once complete, so a crash never leaves a half-written checkpoint under the real name.
// Rotation (save_total_limit) never deletes the best checkpoint.

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace trainer {

inline constexpr const char* kCheckpointPrefix = "checkpoint";

std::string checkpoint_dir_name(int64_t step);

// Writes a checkpoint: `fill(tmp_dir)` writes the files, then the directory is flushed and renamed
// to run_dir/checkpoint-<step>. An existing directory of that name is replaced only after the new
// one is complete. Returns the final path. On failure the temporary directory is removed and the
// error (e.g. disk full) is rethrown with the checkpoint named; older checkpoints are untouched.
std::filesystem::path write_checkpoint(const std::filesystem::path& run_dir, int64_t step,
                                       const std::function<void(const std::filesystem::path&)>& fill);

// checkpoint-<N> directories of run_dir, oldest first: by modification time, or by step when the
// times are less than a second apart (unreliable on some filesystems).
std::vector<std::filesystem::path> sorted_checkpoints(const std::filesystem::path& run_dir);

// Checks that a checkpoint can be resumed from: its files match checkpoint_manifest.json (when it
// has one), trainer_state.json parses, model.safetensors has a valid header and its data, and
// (unless `weights_only`) the optimizer, scheduler and RNG files are present and loop_state.json
// holds every field. Returns an empty string when it is good, else what is wrong with it.
std::string checkpoint_problem(const std::filesystem::path& dir, bool weights_only = false);

// The newest checkpoint of run_dir that checkpoint_problem() accepts; each newer one that it
// refuses is reported with a warning naming the problem. nullopt when there is none.
std::optional<std::filesystem::path> latest_valid_checkpoint(const std::filesystem::path& run_dir);

// Deletes a checkpoint directory so that no crash can leave part of it under its name.
void remove_checkpoint(const std::filesystem::path& dir);

// Removes temporary directories left by saves that were killed (their process is gone).
void remove_stale_checkpoint_temporaries(const std::filesystem::path& run_dir);

// Deletes the oldest checkpoints beyond `limit`, keeping `best` (moved to second-to-last) and the
// newest. Returns the deleted paths.
std::vector<std::filesystem::path> rotate_checkpoints(const std::filesystem::path& run_dir, int64_t limit,
                                                      const std::optional<std::string>& best);

}  // namespace trainer
