#include "trainer/core/report_to.h"

#include "trainer/core/argument_spec.h"
#include "trainer/core/callback.h"

namespace trainer {
namespace {

ReportToResolver& resolver() {
  static ReportToResolver installed;  // a function-local static: safe from other static initialisers
  return installed;
}

}  // namespace

void set_report_to_resolver(ReportToResolver r) { resolver() = std::move(r); }

bool has_report_to_resolver() { return static_cast<bool>(resolver()); }

bool reports_to_nothing(const std::vector<std::string>& report_to) {
  return report_to.empty() || (report_to.size() == 1 && report_to[0] == "none");
}

std::vector<std::shared_ptr<TrainerCallback>> report_to_callbacks(const std::vector<std::string>& report_to) {
  if (reports_to_nothing(report_to)) return {};
  if (!resolver()) {
    std::string names;
    for (const auto& n : report_to) names += (names.empty() ? "" : " ") + n;
    throw ArgumentError(
        "--report_to " + names + ": this program has no trackers; link trainer::trainer_integrations and " +
        "#include <trainer/integrations/builtin_integrations.h> (or <trainer/trainer.h>), or pass --report_to none");
  }
  return resolver()(report_to);
}

}  // namespace trainer
