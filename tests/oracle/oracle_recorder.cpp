// The C++ side of the oracle harness (tests/oracle/run_oracle.py): runs every scenario of a
// scenarios file through this library's Trainer, with a recording callback, and writes what it
// saw in the format the Python side writes for the Hugging Face Trainer.
//
//   oracle_recorder SCENARIOS.json DATA.safetensors WORK_DIR RESULTS.json
//
// A scenario is a list of phases (train, possibly resuming; evaluate; predict), each with a fresh
// model and Trainer. Per phase it records every event (name, global_step, epoch, the control flags
// the recorder received, the logs or metrics it was given), the Trainer's state afterwards, and
// trainer_state.json of every checkpoint left in the output folder.

#include <cmath>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "trainer/callbacks/early_stopping_callback.h"
#include "trainer/core/argument_spec.h"
#include "trainer/core/callback.h"
#include "trainer/core/json.h"
#include "trainer/core/logging.h"
#include "trainer/torch/checkpoint.h"
#include "trainer/torch/models.h"
#include "trainer/torch/safetensors.h"
#include "trainer/torch/trainer.h"

namespace fs = std::filesystem;
using trainer::Json;

namespace {

const char* const kFlags[] = {"should_training_stop", "should_epoch_stop", "should_save", "should_evaluate",
                              "should_log"};

Json control_flags(const trainer::TrainerControl& c) {
  const bool values[] = {c.should_training_stop, c.should_epoch_stop, c.should_save, c.should_evaluate, c.should_log};
  Json out = Json::array();
  for (size_t i = 0; i < 5; ++i)
    if (values[i]) out.push_back(kFlags[i]);
  return out;
}

void set_flag(trainer::TrainerControl& c, const std::string& flag, bool value) {
  if (flag == "should_training_stop")
    c.should_training_stop = value;
  else if (flag == "should_epoch_stop")
    c.should_epoch_stop = value;
  else if (flag == "should_save")
    c.should_save = value;
  else if (flag == "should_evaluate")
    c.should_evaluate = value;
  else if (flag == "should_log")
    c.should_log = value;
  else
    throw std::invalid_argument("unknown control flag " + flag);
}

// Records every event of the original (not this library's own on_checkpoint_published and
// on_exception), and carries out the scenario's control actions first: {event, step, flag, value}.
class Recorder : public trainer::TrainerCallback {
 public:
  Recorder(Json* events, Json actions) : events_(events), actions_(std::move(actions)) {}
  std::string name() const override { return "RecorderCallback"; }

#define RECORD(event)                                                                                          \
  void event(const Args&, trainer::TrainerState& s, trainer::TrainerControl& c, trainer::CallbackContext& ctx) \
      override {                                                                                               \
    record(#event, s, c, ctx);                                                                                 \
  }
  RECORD(on_init_end)
  RECORD(on_train_begin)
  RECORD(on_train_end)
  RECORD(on_epoch_begin)
  RECORD(on_epoch_end)
  RECORD(on_step_begin)
  RECORD(on_substep_end)
  RECORD(on_pre_optimizer_step)
  RECORD(on_optimizer_step)
  RECORD(on_step_end)
  RECORD(on_evaluate)
  RECORD(on_predict)
  RECORD(on_save)
  RECORD(on_log)
  RECORD(on_prediction_step)
#undef RECORD

 private:
  void record(const std::string& event, trainer::TrainerState& s, trainer::TrainerControl& c,
              trainer::CallbackContext& ctx) {
    Json e{{"event", event}, {"global_step", s.global_step}, {"epoch", s.epoch}, {"control", control_flags(c)}};
    if (ctx.logs) e["logs"] = *ctx.logs;
    if (ctx.metrics) e["metrics"] = *ctx.metrics;
    events_->push_back(e);
    for (const auto& a : actions_)
      if (a["event"] == event && a["step"].get<int64_t>() == s.global_step)
        set_flag(c, a["flag"].get<std::string>(), a.value("value", true));
  }
  Json* events_;
  Json actions_;
};

struct Data {
  std::shared_ptr<trainer::TensorDataset> train, eval;
  trainer::NamedTensors initial_weights;  // "model.<name>" in the file
};

Data load_data(const fs::path& path) {
  torch::Tensor train_x, train_y, eval_x, eval_y;
  trainer::NamedTensors weights;
  for (auto& [name, t] : trainer::load_safetensors(path)) {
    if (name.rfind("model.", 0) == 0) weights.emplace_back(name.substr(6), t);
    if (name == "train_x") train_x = t;
    if (name == "train_y") train_y = t;
    if (name == "eval_x") eval_x = t;
    if (name == "eval_y") eval_y = t;
  }
  return {std::make_shared<trainer::TensorDataset>(train_x, train_y),
          std::make_shared<trainer::TensorDataset>(eval_x, eval_y), weights};
}

Json checkpoint_states(const fs::path& output_dir) {
  Json out = Json::object();
  if (!fs::exists(output_dir)) return out;
  for (const auto& dir : trainer::sorted_checkpoints(output_dir)) {
    const auto state_file = dir / "trainer_state.json";
    out[dir.filename().string()] = fs::exists(state_file) ? trainer::read_json_file(state_file) : Json();
  }
  return out;
}

Json run_phase(const Json& scenario, const Json& phase, size_t index, const Data& data, const fs::path& output_dir) {
  Json args_json = scenario["args"];
  if (phase.contains("args")) args_json.update(phase["args"]);
  args_json["output_dir"] = output_dir.string();
  Json events = Json::array();
  Json record{{"phase", phase["kind"]}};
  try {
    auto args = trainer::TrainingArguments::from_json(args_json);
    // The same initial weights on both sides (made once by the Python side).
    auto model = trainer::make_builtin_model("mlp", data.train->inputs.size(1), 3);
    model->load_state_dict(data.initial_weights);
    Json actions = Json::array();
    for (const auto& a : scenario.value("actions", Json::array()))
      if (a.value("phase", 0) == static_cast<int>(index)) actions.push_back(a);
    std::vector<std::shared_ptr<trainer::TrainerCallback>> callbacks;
    if (scenario.contains("early_stopping")) {
      const auto& es = scenario["early_stopping"];
      callbacks.push_back(
          std::make_shared<trainer::EarlyStoppingCallback>(es.value("patience", 1), es.value("threshold", 0.0)));
    }
    callbacks.push_back(std::make_shared<Recorder>(&events, actions));
    trainer::ComputeMetrics metrics = scenario.value("metrics", false) ? trainer::compute_accuracy : nullptr;
    trainer::Trainer t(model, args, data.train, data.eval, callbacks, metrics);
    const std::string kind = phase["kind"];
    if (kind == "train") {
      std::optional<std::string> resume;
      if (phase.contains("resume")) resume = phase["resume"].get<std::string>();
      t.train(resume);
      if (phase.value("save_model", false)) t.save_model((output_dir / "final").string());
    } else if (kind == "evaluate") {
      t.evaluate();
    } else if (kind == "predict") {
      t.predict(data.eval);
    }
    record["state"] = Json::parse(t.state().to_json_string());
  } catch (const std::exception& e) {
    record["error"] = e.what();
  }
  record["events"] = events;
  record["checkpoints"] = checkpoint_states(output_dir);
  return record;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: oracle_recorder SCENARIOS.json DATA.safetensors WORK_DIR RESULTS.json\n";
    return 2;
  }
  trainer::set_log_level(trainer::LogLevel::error);
  const Json scenarios = trainer::read_json_file(argv[1]);
  const Data data = load_data(argv[2]);
  const fs::path work = argv[3];
  Json results = Json::object();
  for (const auto& scenario : scenarios) {
    const std::string name = scenario["name"];
    const fs::path output_dir = work / name;
    fs::remove_all(output_dir);
    Json phases = Json::array();
    for (size_t i = 0; i < scenario["phases"].size(); ++i)
      phases.push_back(run_phase(scenario, scenario["phases"][i], i, data, output_dir));
    results[name] = phases;
  }
  std::ofstream(argv[4]) << trainer::dump_json(results, {1, /*sort_keys=*/false, true}) << "\n";
  return 0;
}
