#pragma once
// The registry of reporting integrations (`--report_to`). Each integration is a callback with a
// name, a test of whether its requirements are met, and a factory. The Trainer adds the callbacks
// that report_to selects, in registry order for "all" and in the given order otherwise.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "trainer/core/callback.h"

namespace trainer {

struct Integration {
  std::string name;
  std::function<bool()> available;  // null: always
  std::function<std::shared_ptr<TrainerCallback>()> make;
  std::function<bool()> in_all;     // whether `all` adds it when available; null: yes
};

// Registers an integration (typically from a static initialiser in the integration's source file).
void register_integration(Integration integration);
const std::vector<Integration>& registered_integrations();

// The callbacks for report_to: "none" gives none, "all" every available integration; an unknown
// or unavailable name throws ArgumentError listing the valid ones.
std::vector<std::shared_ptr<TrainerCallback>> integration_callbacks(const std::vector<std::string>& report_to);

}  // namespace trainer
