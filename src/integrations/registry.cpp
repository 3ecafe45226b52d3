#include "trainer/integrations/registry.h"

#include <algorithm>
#include <mutex>

#include "trainer/core/argument_spec.h"
#include "trainer/core/callback.h"
#include "trainer/core/json.h"
#include "trainer/core/report_to.h"
#include "trainer/tracking/record_sender.h"

namespace trainer {
namespace {

struct Registry {
  std::mutex mutex;
  std::vector<Integration> integrations;
};

Registry& registry() {
  static Registry r{{}, [] {
                      std::vector<Integration> all = builtin_integrations();
                      std::stable_sort(all.begin(), all.end(), [](const Integration& a, const Integration& b) {
                        return a.position < b.position;
                      });
                      return all;
                    }()};
  return r;
}

const Integration* find(const std::vector<Integration>& all, const std::string& name) {
  for (const auto& i : all)
    if (i.name == name) return &i;
  return nullptr;
}

[[noreturn]] void unknown_name(const std::vector<Integration>& all, const std::string& name) {
  if (name == "none" || name == "all")
    throw ArgumentError("--report_to: '" + name + "' cannot be combined with other names");
  std::vector<std::string> valid = {"none", "all"};
  for (const auto& i : all) valid.push_back(i.name);
  std::string list;
  for (const auto& v : valid) list += (list.empty() ? "" : ", ") + v;
  std::string msg = "--report_to: '" + name + "' is not an available integration; valid: " + list;
  const auto near = closest_match(name, valid);
  if (!near.empty() && near != name) msg += " (did you mean '" + near + "'?)";
  throw ArgumentError(msg);
}

}  // namespace

void register_integration(Integration integration) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  const auto after = std::upper_bound(r.integrations.begin(), r.integrations.end(), integration.position,
                                      [](int position, const Integration& i) { return position < i.position; });
  r.integrations.insert(after, std::move(integration));
}

std::vector<Integration> registered_integrations() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  return r.integrations;
}

std::vector<std::shared_ptr<TrainerCallback>> integration_callbacks(const std::vector<std::string>& report_to) {
  std::vector<std::shared_ptr<TrainerCallback>> out;
  if (reports_to_nothing(report_to)) return out;
  const std::vector<Integration> all = registered_integrations();
  if (report_to.size() == 1 && report_to[0] == "all") {
    for (const auto& i : all)
      if ((!i.available || i.available()) && (!i.in_all || i.in_all())) out.push_back(i.make());
    return out;
  }
  for (const auto& name : report_to) {
    const Integration* found = find(all, name);
    if (!found) unknown_name(all, name);
    if (found->available && !found->available())
      throw ArgumentError("--report_to: integration '" + name + "' is not available on this machine");
    out.push_back(found->make());
  }
  return out;
}

std::unique_ptr<RecordSender> sender_for_journal(const std::filesystem::path& dir, const std::string& output_dir) {
  const std::filesystem::path meta = dir / "tracker.json";
  const std::string name = required_field<std::string>(read_json_file(meta), "tracker");
  const std::vector<Integration> all = registered_integrations();
  if (const Integration* i = find(all, name); i && i->resend) return i->resend(dir, output_dir);
  throw std::runtime_error(meta.string() + ": '" + name + "' is not a remote tracker this program can send to");
}

std::string integrations_help() {
  std::string out = "integrations (--report_to NAME ..., or all, or none):\n";
  for (const auto& i : registered_integrations()) {
    out += "  " + i.name + (i.summary.empty() ? "" : ": " + i.summary) + "\n";
    if (!i.settings.empty()) out += "      settings: " + i.settings + "\n";
  }
  return out;
}

}  // namespace trainer
