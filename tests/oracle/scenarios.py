"""The oracle harness's scenarios: each is TrainingArguments (as the original takes them), the phases
to run (train, possibly resuming; evaluate; predict), and optionally callbacks that set control
flags, early stopping and compute_metrics. 48 training examples in batches of 8: 6 steps an epoch.
"""

BASE = {
    "per_device_train_batch_size": 8,
    "per_device_eval_batch_size": 8,
    "num_train_epochs": 2,
    "learning_rate": 0.01,
    "logging_steps": 3,
    "save_strategy": "no",
    "report_to": "none",
    "use_cpu": True,
    "disable_tqdm": True,
    "seed": 42,
    "optim": "adamw_torch",
    # This library's default (the original's is False): both sides told, so both restore.
    "restore_callback_states_from_checkpoint": True,
}

TRAIN = [{"kind": "train"}]


def scenario(name, args=None, phases=TRAIN, **extra):
    merged = dict(BASE)
    merged.update(args or {})
    return dict({"name": name, "args": merged, "phases": phases}, **extra)


def logging_scenarios():
    out = []
    for strategy, steps in (("steps", 1), ("steps", 3), ("steps", 5), ("steps", 0.25), ("epoch", 3), ("no", 3)):
        for first in (False, True):
            name = f"log_{strategy}_{steps}_first{int(first)}".replace(".", "p")
            out.append(scenario(name, {"logging_strategy": strategy, "logging_steps": steps, "logging_first_step": first}))
    return out


def eval_scenarios():
    out = []
    for strategy, steps, delay, start in (("steps", 2, 0, False), ("steps", 4, 0, False), ("steps", 0.3, 0, False),
                                          ("steps", 2, 5, False), ("epoch", None, 0, False), ("epoch", None, 1, False),
                                          ("steps", 4, 0, True), ("epoch", None, 0, True), ("no", None, 0, True)):
        args = {"eval_strategy": strategy, "eval_delay": delay, "eval_on_start": start}
        if steps is not None:
            args["eval_steps"] = steps
        name = f"eval_{strategy}_{steps}_delay{delay}_start{int(start)}".replace(".", "p")
        out.append(scenario(name, args))
    out.append(scenario("eval_steps_metrics", {"eval_strategy": "steps", "eval_steps": 3}, metrics=True))
    out.append(scenario("eval_steps_loss_only", {"eval_strategy": "steps", "eval_steps": 3,
                                                 "prediction_loss_only": True}, metrics=True))
    return out


def save_scenarios():
    out = []
    for strategy, steps in (("steps", 2), ("steps", 5), ("steps", 0.5), ("epoch", None)):
        for limit in (None, 1, 2):
            args = {"save_strategy": strategy, "save_total_limit": limit}
            if steps is not None:
                args["save_steps"] = steps
            out.append(scenario(f"save_{strategy}_{steps}_limit{limit}".replace(".", "p"), args))
    for metric, greater in (("loss", None), ("accuracy", True)):
        for limit in (1, 2):
            args = {"eval_strategy": "steps", "eval_steps": 2, "save_strategy": "steps", "save_steps": 2,
                    "save_total_limit": limit, "load_best_model_at_end": True, "metric_for_best_model": metric}
            if greater is not None:
                args["greater_is_better"] = greater
            out.append(scenario(f"best_{metric}_limit{limit}", args, metrics=True))
    out.append(scenario("save_best_loss", {"eval_strategy": "steps", "eval_steps": 2, "save_strategy": "best",
                                           "metric_for_best_model": "loss"}))
    out.append(scenario("save_best_accuracy_epoch", {"eval_strategy": "epoch", "save_strategy": "best",
                                                     "metric_for_best_model": "accuracy", "num_train_epochs": 3},
                        metrics=True))
    out.append(scenario("save_only_model", {"save_strategy": "steps", "save_steps": 4, "save_only_model": True}))
    return out


def length_scenarios():
    out = []
    for accumulation in (1, 2, 4):
        for max_steps, epochs in ((None, 1), (None, 3), (5, 2), (7, 1)):
            args = {"gradient_accumulation_steps": accumulation, "num_train_epochs": epochs, "logging_steps": 1}
            if max_steps is not None:
                args["max_steps"] = max_steps
            out.append(scenario(f"ga{accumulation}_max{max_steps}_epochs{epochs}", args))
    out.append(scenario("ga4_eval_save_steps", {"gradient_accumulation_steps": 4, "eval_strategy": "steps",
                                                "eval_steps": 1, "save_strategy": "steps", "save_steps": 2}))
    out.append(scenario("fractional_epochs", {"num_train_epochs": 1.5, "logging_steps": 1}))
    out.append(scenario("drop_last", {"per_device_train_batch_size": 10, "dataloader_drop_last": True,
                                      "logging_steps": 1}))
    out.append(scenario("partial_last_batch", {"per_device_train_batch_size": 10, "logging_steps": 1}))
    return out


def early_stopping_scenarios():
    out = []
    for patience in (1, 2):
        for threshold in (0.0, 0.05):
            for metric, greater in (("loss", False), ("accuracy", True)):
                args = {"eval_strategy": "steps", "eval_steps": 1, "save_strategy": "steps", "save_steps": 1,
                        "metric_for_best_model": metric, "greater_is_better": greater, "num_train_epochs": 4,
                        "load_best_model_at_end": True, "learning_rate": 0.05}
                name = f"early_p{patience}_t{threshold}_{metric}".replace(".", "p")
                out.append(scenario(name, args, metrics=True,
                                    early_stopping={"patience": patience, "threshold": threshold}))
    return out


def control_scenarios():
    out = []
    flags = ("should_training_stop", "should_epoch_stop", "should_save", "should_evaluate", "should_log")
    for event, step in (("on_step_end", 2), ("on_epoch_end", 6), ("on_step_begin", 2), ("on_log", 3),
                        ("on_substep_end", 4), ("on_train_begin", 0), ("on_epoch_begin", 6), ("on_evaluate", 4),
                        ("on_save", 4), ("on_optimizer_step", 3), ("on_pre_optimizer_step", 3)):
        for flag in flags:
            args = {"eval_strategy": "no"}
            if flag == "should_evaluate" or event == "on_evaluate":
                args.update(eval_strategy="steps", eval_steps=4)  # an evaluation set (and at step 4)
            if event == "on_save":
                args.update(save_strategy="steps", save_steps=4)
            if event == "on_substep_end":
                args["gradient_accumulation_steps"] = 2
                step = 1
            out.append(scenario(f"control_{event}_{flag}", args,
                                actions=[{"event": event, "step": step, "flag": flag, "value": True}]))
    return out


def evaluation_only_scenarios():
    return [
        scenario("evaluate_only", phases=[{"kind": "evaluate"}]),
        scenario("evaluate_only_metrics", phases=[{"kind": "evaluate"}], metrics=True),
        scenario("predict_only", phases=[{"kind": "predict"}], metrics=True),
        scenario("predict_loss_only", {"prediction_loss_only": True}, phases=[{"kind": "predict"}]),
    ]


def resume_scenarios():
    stop_at_4 = [{"event": "on_step_end", "step": 4, "flag": "should_training_stop", "phase": 0}]
    resume = [{"kind": "train"}, {"kind": "train", "resume": "last"}]
    saving = {"save_strategy": "steps", "save_steps": 2}
    return [
        scenario("resume_mid_epoch", saving, resume, actions=stop_at_4),
        scenario("resume_mid_epoch_ga2", dict(saving, gradient_accumulation_steps=2, save_steps=1), resume,
                 actions=[{"event": "on_step_end", "step": 2, "flag": "should_training_stop", "phase": 0}]),
        scenario("resume_after_end", saving, resume, documented_difference={
            "first": "phase 1 (train), events: event 1 differs",
            "why": "resuming a finished run trains nothing and fires no event here (TrainOutput::already_complete); "
                   "the original fires on_train_begin, logs the train metrics again and fires on_train_end "
                   "(docs/checkpoints.md)"}),
        scenario("resume_with_eval", dict(saving, eval_strategy="steps", eval_steps=2, logging_steps=2), resume,
                 actions=stop_at_4),
        scenario("resume_after_early_stop",
                 {"eval_strategy": "steps", "eval_steps": 1, "save_strategy": "steps", "save_steps": 1,
                  "metric_for_best_model": "loss", "greater_is_better": False, "learning_rate": 0.05,
                  "num_train_epochs": 4, "load_best_model_at_end": True},
                 resume, early_stopping={"patience": 1, "threshold": 0.05}, documented_difference={
                     "first": "phase 1 (train), events: event 11 differs",
                     "why": "a restored callback keeps its place in the list here; the original moves it to the "
                            "end, so a callback after it sees its decisions one event later (docs/checkpoints.md)"}),
        scenario("resume_without_callback_states", dict(saving, restore_callback_states_from_checkpoint=False),
                 resume, actions=stop_at_4),
        scenario("resume_epoch_save", {"save_strategy": "epoch", "num_train_epochs": 3}, resume,
                 actions=[{"event": "on_step_end", "step": 8, "flag": "should_training_stop", "phase": 0}]),
    ]


def training_match_scenarios():
    """1,000 steps from the same weights on the same batches, warmup then linear decay, clipping on:
    the loss at every log and the final weights must equal the original's (run_oracle.py checks
    them within MATCH_TOLERANCE). The fused optimizers are measured, not held to it."""
    out = []
    for name, accumulation, optim, tolerance in (("match_1000_ga1", 1, "adamw_torch", True),
                                                  ("match_1000_ga4", 4, "adamw_torch", True),
                                                  ("match_1000_fused", 1, "adamw_torch_fused", False)):
        args = {"max_steps": 1000, "gradient_accumulation_steps": accumulation, "optim": optim,
                "learning_rate": 0.001, "warmup_steps": 100, "lr_scheduler_type": "linear", "max_grad_norm": 1.0,
                "logging_steps": 50}
        out.append(scenario(name, args, [{"kind": "train", "save_model": True}],
                            training_match={"held_to_tolerance": tolerance}))
    return out


def tokens_seen_scenarios():
    """include_num_input_tokens_seen: what state.num_input_tokens_seen and every log say."""
    out = [scenario(f"tokens_{value}".lower(), {"include_num_input_tokens_seen": value, "eval_strategy": "steps",
                                                 "eval_steps": 4})
           for value in ("all", "non_padding", "no", True)]
    out.append(scenario("tokens_ga4", {"include_num_input_tokens_seen": "all", "gradient_accumulation_steps": 4,
                                       "logging_steps": 1}))
    out.append(scenario("tokens_resume", {"include_num_input_tokens_seen": "all", "save_strategy": "steps",
                                          "save_steps": 2}, [{"kind": "train"}, {"kind": "train", "resume": "last"}],
                        actions=[{"event": "on_step_end", "step": 4, "flag": "should_training_stop", "phase": 0}]))
    return out


# Scenarios also run as a command line (`trainer train`), compared by their files (cli_side.py).
COMMAND_LINE = ("log_steps_3_first1", "log_epoch_3_first0", "eval_steps_2_delay0_start0", "eval_epoch_None_delay1_start0",
                "eval_steps_4_delay0_start1", "save_steps_2_limit2", "save_epoch_None_limit1", "best_loss_limit1",
                "best_accuracy_limit2", "save_best_loss", "ga4_max7_epochs1", "ga2_maxNone_epochs3", "fractional_epochs",
                "early_p1_t0p0_loss", "early_p2_t0p05_accuracy", "tokens_all", "tokens_ga4")


def command_line_scenarios():
    return [s for s in all_scenarios() if s["name"] in COMMAND_LINE]


def all_scenarios():
    return (logging_scenarios() + eval_scenarios() + save_scenarios() + length_scenarios() +
            early_stopping_scenarios() + control_scenarios() + evaluation_only_scenarios() + resume_scenarios() +
            tokens_seen_scenarios() + training_match_scenarios())
