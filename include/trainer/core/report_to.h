#pragma once
// How `--report_to` becomes callbacks, without the loop knowing any tracker. The loop library
// links no integration: a program that links them installs their resolver once
// (trainer/integrations/builtin_integrations.h does it for every program that includes it, and
// trainer/trainer.h includes it), and the Trainer asks report_to_callbacks() when it is built.

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace trainer {

class TrainerCallback;

// The callbacks for a report_to list other than "none": "all" or integration names. Throws
// ArgumentError naming the flag when a name is unknown or unavailable.
using ReportToResolver =
    std::function<std::vector<std::shared_ptr<TrainerCallback>>(const std::vector<std::string>& report_to)>;

// Replaces the resolver (null removes it). Not thread-safe against report_to_callbacks(): install
// it before building Trainers, as a static initialiser or at the start of main.
void set_report_to_resolver(ReportToResolver resolver);
bool has_report_to_resolver();

// An empty list or "none" alone: no tracker (the one reading of "none").
bool reports_to_nothing(const std::vector<std::string>& report_to);

// None when reports_to_nothing(); otherwise the resolver's answer. Without a resolver, throws
// ArgumentError naming the trackers asked for and how to link them.
std::vector<std::shared_ptr<TrainerCallback>> report_to_callbacks(const std::vector<std::string>& report_to);

}  // namespace trainer
