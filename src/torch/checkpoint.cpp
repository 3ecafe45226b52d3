#include "trainer/torch/checkpoint.h"

#include <unistd.h>

#include <signal.h>

#include <algorithm>
#include <cerrno>
#include <regex>
#include <stdexcept>

#include "trainer/core/atomic_file.h"
#include "trainer/core/json.h"
#include "trainer/core/logging.h"
#include "trainer/core/trainer_state.h"
#include "trainer/torch/checkpoint_manifest.h"
#include "trainer/torch/loop_state.h"
#include "trainer/torch/safetensors.h"

namespace trainer {

namespace fs = std::filesystem;

std::string checkpoint_dir_name(int64_t step) { return std::string(kCheckpointPrefix) + "-" + std::to_string(step); }

fs::path write_checkpoint(const fs::path& run_dir, int64_t step, const std::function<void(const fs::path&)>& fill) {
  fs::create_directories(run_dir);
  const fs::path final_dir = run_dir / checkpoint_dir_name(step);
  // A leading dot and a suffix keep the temporary directory out of checkpoint discovery.
  const fs::path tmp = run_dir / ("." + checkpoint_dir_name(step) + ".tmp-" + std::to_string(::getpid()));
  remove_stale_checkpoint_temporaries(run_dir);
  try {
    fs::remove_all(tmp);
    fs::create_directory(tmp);
    fill(tmp);
    for (const auto& entry : fs::directory_iterator(tmp))
      if (entry.is_regular_file()) fsync_file(entry.path());
    fsync_directory(tmp);
    if (fs::exists(final_dir)) {
      // Keep the old directory until the new one is in place.
      const fs::path old = run_dir / ("." + checkpoint_dir_name(step) + ".old-" + std::to_string(::getpid()));
      fs::remove_all(old);
      fs::rename(final_dir, old);
      fs::rename(tmp, final_dir);
      fs::remove_all(old);
    } else {
      fs::rename(tmp, final_dir);
    }
    fsync_directory(run_dir);
  } catch (const std::exception& e) {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    throw std::runtime_error("saving " + final_dir.string() +
                             " failed, earlier checkpoints are untouched: " + e.what());
  }
  return final_dir;
}

std::vector<fs::path> sorted_checkpoints(const fs::path& run_dir) {
  static const std::regex pattern("^checkpoint-([0-9]+)$");
  struct Item {
    fs::path path;
    int64_t step;
    fs::file_time_type mtime;
  };
  std::vector<Item> items;
  if (!fs::is_directory(run_dir)) return {};
  for (const auto& entry : fs::directory_iterator(run_dir)) {
    std::smatch m;
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory() || !std::regex_match(name, m, pattern)) continue;
    items.push_back({entry.path(), std::stoll(m[1]), entry.last_write_time()});
  }
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.step < b.step; });
  if (items.size() > 1) {
    auto [lo, hi] =
        std::minmax_element(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.mtime < b.mtime; });
    if (hi->mtime - lo->mtime >= std::chrono::seconds(1))
      std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.mtime < b.mtime; });
  }
  std::vector<fs::path> out;
  for (auto& i : items) out.push_back(i.path);
  return out;
}

void remove_checkpoint(const fs::path& dir) {
  // Renamed out of the checkpoint namespace first, so a crash halfway through the deletion never
  // leaves a partial directory that still looks like a checkpoint.
  const fs::path doomed = dir.parent_path() / ("." + dir.filename().string() + ".old-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::rename(dir, doomed, ec);
  if (ec) {
    log_warning("could not remove " + dir.string() + ": " + ec.message());
    return;
  }
  fs::remove_all(doomed, ec);
}

std::string checkpoint_problem(const fs::path& dir, bool weights_only) {
  if (!fs::is_directory(dir)) return fs::exists(dir) ? "not a directory" : "does not exist";
  if (auto problem = manifest_problem(dir); !problem.empty()) return problem;
  try {
    TrainerState::load_from_json(dir / "trainer_state.json");
  } catch (const std::exception& e) {
    return e.what();  // names the file and the field
  }
  try {
    load_safetensors(dir / "model.safetensors");
  } catch (const std::exception& e) {
    return std::string("model.safetensors: ") + e.what();
  }
  if (!weights_only) {
    for (const char* f : {"optimizer.safetensors", "scheduler.json", "loop_state.json"})
      if (!fs::exists(dir / f)) return std::string(f) + " is missing (saved with --save_only_model?)";
    // One process writes rng_state.pth, a data-parallel job rng_state_<rank>.pth for each rank.
    if (!fs::exists(dir / "rng_state.pth") && !fs::exists(dir / "rng_state_0.pth"))
      return "rng_state.pth is missing (saved with --save_only_model?)";
    try {
      LoopState::read(dir / "loop_state.json", torch::kCPU);
    } catch (const std::exception& e) {
      return e.what();
    }
  }
  return "";
}

std::optional<fs::path> latest_valid_checkpoint(const fs::path& run_dir) {
  auto list = sorted_checkpoints(run_dir);
  // Newest by step: the order a resume should try them in.
  std::sort(list.begin(), list.end(), [](const fs::path& a, const fs::path& b) {
    return std::stoll(a.filename().string().substr(11)) > std::stoll(b.filename().string().substr(11));
  });
  for (const auto& dir : list) {
    const auto problem = checkpoint_problem(dir);
    if (problem.empty()) return dir;
    log_warning("checkpoint " + dir.string() + " cannot be resumed from (" + problem + "); trying an older one");
  }
  return std::nullopt;
}

void remove_stale_checkpoint_temporaries(const fs::path& run_dir) {
  static const std::regex pattern("^\\.checkpoint-[0-9]+\\.(tmp|old)-([0-9]+)$");
  if (!fs::is_directory(run_dir)) return;
  for (const auto& entry : fs::directory_iterator(run_dir)) {
    std::smatch m;
    const std::string name = entry.path().filename().string();
    if (!std::regex_match(name, m, pattern)) continue;
    const auto pid = static_cast<pid_t>(std::stoll(m[2]));
    if (pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH) {
      std::error_code ignored;
      fs::remove_all(entry.path(), ignored);
    }
  }
}

std::vector<fs::path> rotate_checkpoints(const fs::path& run_dir, int64_t limit,
                                         const std::optional<std::string>& best) {
  if (limit <= 0) return {};
  auto list = sorted_checkpoints(run_dir);
  if (static_cast<int64_t>(list.size()) <= limit) return {};
  if (best) {
    const auto best_norm = fs::path(*best).lexically_normal();
    for (size_t i = 0; i < list.size(); ++i) {
      if (list[i].lexically_normal() != best_norm) continue;
      // Bubble the best towards the end, stopping before the newest checkpoint.
      for (size_t j = i; j + 2 < list.size(); ++j) std::swap(list[j], list[j + 1]);
      break;
    }
    if (limit == 1 && list.back().lexically_normal() != best_norm) limit = 2;
  }
  const int64_t n_delete = std::max<int64_t>(0, static_cast<int64_t>(list.size()) - limit);
  std::vector<fs::path> deleted;
  for (int64_t i = 0; i < n_delete; ++i) {
    log_info("Deleting older checkpoint [" + list[i].string() + "] due to save_total_limit");
    remove_checkpoint(list[i]);
    deleted.push_back(list[i]);
  }
  return deleted;
}

}  // namespace trainer
