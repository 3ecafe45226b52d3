#pragma once
// The registry of reporting integrations (`--report_to`). Each integration is a callback with a
// name, a test of whether its requirements are met, and a factory. The Trainer adds the callbacks
// that report_to selects, in registry order for "all" and in the given order otherwise.

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "trainer/core/callback.h"

namespace trainer {

class RecordSender;

struct Integration {
  std::string name;
  std::function<bool()> available;  // null: always
  std::function<std::shared_ptr<TrainerCallback>()> make;
  std::function<bool()> in_all;     // whether `all` adds it when available; null: yes
  // Remote trackers: the sender that continues a journal folder this integration left under
  // output_dir/tracking/ (`trainer sync`). Null for local ones.
  std::function<std::unique_ptr<RecordSender>(const std::filesystem::path& dir, const std::string& output_dir)> resend;
};

// Registers an integration (typically from a static initialiser in the integration's source file).
void register_integration(Integration integration);
const std::vector<Integration>& registered_integrations();

// The callbacks for report_to: "none" gives none, "all" every available integration; an unknown
// or unavailable name throws ArgumentError listing the valid ones.
std::vector<std::shared_ptr<TrainerCallback>> integration_callbacks(const std::vector<std::string>& report_to);

// The sender for a journal folder (its tracker.json names the integration). Throws
// std::runtime_error naming the folder when it is not a remote tracker's journal.
std::unique_ptr<RecordSender> sender_for_journal(const std::filesystem::path& dir, const std::string& output_dir);

}  // namespace trainer
