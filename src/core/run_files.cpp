#include "trainer/core/run_files.h"

#include <stdexcept>

namespace trainer {

namespace fs = std::filesystem;

namespace {

fs::path newest_checkpoint_state(const fs::path& output_dir) {
  int64_t newest = -1;
  fs::path found;
  for (const auto& e : fs::directory_iterator(output_dir)) {
    const std::string name = e.path().filename().string();
    if (!e.is_directory() || name.rfind("checkpoint-", 0) != 0) continue;
    const std::string digits = name.substr(11);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    if (fs::exists(e.path() / "trainer_state.json") && std::stoll(digits) > newest) {
      newest = std::stoll(digits);
      found = e.path() / "trainer_state.json";
    }
  }
  if (newest < 0)
    throw std::runtime_error("no trainer_state.json in " + output_dir.string() +
                             " or in any checkpoint-N inside it; is this a run's --output_dir?");
  return found;
}

}  // namespace

RunFiles read_run_files(const fs::path& output_dir) {
  if (!fs::is_directory(output_dir))
    throw std::runtime_error(output_dir.string() + " is not a directory (give the run's --output_dir)");
  RunFiles files;
  files.state_file = output_dir / "trainer_state.json";
  if (!fs::exists(files.state_file)) files.state_file = newest_checkpoint_state(output_dir);
  files.state = read_json_file(files.state_file);
  for (const fs::path& candidate :
       {files.state_file.parent_path() / "training_args.json", output_dir / "training_args.json"})
    if (fs::exists(candidate)) {
      files.args = read_json_file(candidate);
      break;
    }
  return files;
}

}  // namespace trainer
