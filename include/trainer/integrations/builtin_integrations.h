#pragma once
// The composition of the loop with the integrations: a program that includes this header (or
// trainer/trainer.h, which does) gets a Trainer that turns --report_to into the built-in
// integrations' callbacks, and resumes a retried job from the integrations' checkpoint sources
// (Flyte's --flyte_prev_checkpoint). The loop library itself knows no tracker (core/report_to.h).

#include "trainer/integrations/registry.h"

namespace trainer {

// Installs the registry as the Trainer's --report_to resolver and registers every integration's
// checkpoint source. Idempotent; the `trainer` program calls it at the start of main.
void install_builtin_integrations();

namespace detail {
// Runs install_builtin_integrations() once, before main, in every program that includes this header.
inline const bool builtin_integrations_installed = (install_builtin_integrations(), true);
}  // namespace detail

}  // namespace trainer
