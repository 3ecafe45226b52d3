#include "trainer/callbacks/printer_callback.h"

#include <cmath>

#include "trainer/core/json.h"
#include "trainer/core/trainer_control.h"
#include "trainer/core/trainer_state.h"
#include "trainer/core/training_arguments.h"

namespace trainer {

std::string format_logs(const Json& logs, size_t max_str_len) {
  std::string out = "{";
  bool first = true;
  for (auto it = logs.begin(); it != logs.end(); ++it) {
    if (!first) out += ", ";
    first = false;
    out += "'" + it.key() + "': ";
    const Json& v = it.value();
    if (v.is_number_float()) {
      const double d = v.get<double>();
      if (std::isnan(d))
        out += "nan";
      else if (std::isinf(d))
        out += d > 0 ? "inf" : "-inf";
      else {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.4g", d);
        out += buf;
      }
    } else if (v.is_string()) {
      const auto& s = v.get_ref<const std::string&>();
      if (s.size() > max_str_len)
        out += "'[String too long to display, length: " + std::to_string(s.size()) + " > " +
               std::to_string(max_str_len) + ". Consider increasing `max_str_len` if needed.]'";
      else
        out += "'" + s + "'";
    } else {
      out += dump_json(v, {-1, false, false});
    }
  }
  return out + "}";
}

void PrinterCallback::on_log(const Args&, TrainerState& state, TrainerControl&, CallbackContext& ctx) {
  if (!ctx.logs) return;
  ctx.logs->erase("total_flos");
  if (state.is_local_process_zero) {
    std::fprintf(out_, "%s\n", format_logs(*ctx.logs).c_str());
    std::fflush(out_);
  }
}

}  // namespace trainer
