#include "trainer/core/checkpoint_source.h"

#include <mutex>
#include <vector>

namespace trainer {
namespace {

struct Sources {
  std::mutex mutex;
  std::vector<std::shared_ptr<CheckpointSource>> list;
};

Sources& sources() {
  static Sources registered;
  return registered;
}

}  // namespace

void register_checkpoint_source(std::shared_ptr<CheckpointSource> source) {
  Sources& s = sources();
  std::lock_guard<std::mutex> lock(s.mutex);
  for (auto& existing : s.list)
    if (existing->name() == source->name()) {
      existing = std::move(source);
      return;
    }
  s.list.push_back(std::move(source));
}

std::optional<std::filesystem::path> restore_from_checkpoint_sources(const TrainingArguments& args) {
  std::vector<std::shared_ptr<CheckpointSource>> list;
  {
    std::lock_guard<std::mutex> lock(sources().mutex);
    list = sources().list;
  }
  for (const auto& source : list)
    if (auto dir = source->restore(args)) return dir;
  return std::nullopt;
}

}  // namespace trainer
