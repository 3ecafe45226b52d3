#pragma once
// Where a checkpoint to resume from can come from when the run names none: a place outside
// output_dir that a retried job finds its previous attempt's checkpoint in (Flyte's
// --flyte_prev_checkpoint; later an S3 prefix or a Hub repository). The Trainer asks the registered
// sources, in order, before it trains without --resume_from_checkpoint; the first that restores a
// checkpoint wins. Sources are registered from outside the loop (the Flyte integration registers
// its own with the built-in integrations).

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace trainer {

struct TrainingArguments;

class CheckpointSource {
 public:
  virtual ~CheckpointSource() = default;
  virtual std::string name() const = 0;
  // A checkpoint copied into args.output_dir (its folder there), or nullopt when this source has
  // none for these arguments. Throws (ArgumentError for a bad location) when it cannot tell.
  virtual std::optional<std::filesystem::path> restore(const TrainingArguments& args) = 0;
};

// Adds a source; one with the name of a registered one replaces it.
void register_checkpoint_source(std::shared_ptr<CheckpointSource> source);

// The first registered source's checkpoint, in registration order; nullopt when none has one.
std::optional<std::filesystem::path> restore_from_checkpoint_sources(const TrainingArguments& args);

}  // namespace trainer
