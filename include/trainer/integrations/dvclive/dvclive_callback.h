#pragma once
// DVCLiveCallback (`--report_to dvclive`): the run in DVCLive's file layout, which `dvc plots`,
// `dvc metrics`, DVC Studio and the VS Code extension read.
//   <dir>/params.yaml                every training argument (block style, field order)
//   <dir>/metrics.json               the latest value of every metric, nested by '/', and "step"
//                                    (rewritten at most once a second, and at the end)
//   <dir>/plots/metrics/<name>.tsv   one row per log: "step<TAB><last path component>"
//   dvc.yaml (beside <dir>)          points DVC at the three, written if there is none
// Metric names as DVCLive's Hugging Face integration names them: train_ -> train/, eval_ -> eval/.
// Its step counts logs (0, 1, 2, ...), not optimizer steps, as in the original.
// log_model (or HF_DVCLIVE_LOG_MODEL: true/1/yes/on, or "all"): at the end of training the model is
// saved to <output_dir>/best (with load_best_model_at_end) or <output_dir>/last, copied to
// <dir>/artifacts/<best|last>/ and listed under `artifacts` in dvc.yaml; "all" also copies each
// checkpoint's weights to <dir>/artifacts/last/ when it is saved (the original has DVC track the
// output directory instead, which needs DVC). A new run clears
// the previous params, metrics and plots unless DVCLIVE_RESUME is true; logs after training ends
// (a final evaluation) go on in the same run. Only world process zero
// writes (the tracker layer's gating); all file work happens on a BackgroundWriter.

#include <memory>
#include <string>

#include "trainer/core/background_writer.h"
#include "trainer/tracking/tracker_callback.h"

namespace trainer {

// DVCLive's metric names: every "train_" becomes "train/" and every "eval_" becomes "eval/".
std::string dvclive_metric_name(const std::string& key);

class DVCLiveCallback : public TrackerCallback {
 public:
  // `log_model`: "", "true" or "all"; empty reads HF_DVCLIVE_LOG_MODEL.
  explicit DVCLiveCallback(std::string dir = "dvclive", std::string log_model = "");
  ~DVCLiveCallback() override;

  const std::string& log_model() const { return log_model_; }
  BackgroundWriter& writer() { return *writer_; }

 private:
  DVCLiveCallback(std::string dir, std::string log_model, std::shared_ptr<BackgroundWriter> writer);
  std::string log_model_;  // "", "true" or "all"
  std::shared_ptr<BackgroundWriter> writer_;
};

// A flat JSON object as YAML the way DVCLive's (ruamel) dumper writes params.yaml: `key: value`
// in order, null as an empty value, lists as block sequences, floats as Python's repr, strings
// quoted only where YAML would read them as something else.
std::string params_yaml(const Json& params);

// A metric value as DVCLive writes it into a .tsv: Python's str() of it; NaN/Inf as nan/inf/-inf.
std::string dvclive_value_text(const Json& value);

}  // namespace trainer
