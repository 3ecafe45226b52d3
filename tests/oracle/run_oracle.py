"""The oracle harness: every scenario (scenarios.py) run by the Hugging Face Trainer (transformers from
PyPI, hf_recorder.py) and by this library's Trainer (oracle_recorder), compared (compare.py).

    run_oracle.py ORACLE_RECORDER WORK_DIR [--only NAME ...] [--keep]

Prints each difference's first point with its context, and a last line naming the transformers
version: "transformers X: N scenarios, D differences". Exit status 1 when D > 0.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

import compare  # noqa: E402
import planted  # noqa: E402
import training_match  # noqa: E402
import scenarios as scenario_list  # noqa: E402


PLANTED_IN = "log_steps_3_first0"


def write_data(path):
    """48 training and 24 evaluation examples of a learnable 3-class problem (6 features), and the
    model's initial weights ("model.<name>"), which both sides load: the same start, the same run."""
    import hf_recorder
    generator = torch.Generator().manual_seed(1234)
    x = torch.randn(72, 6, generator=generator)
    y = x.reshape(72, 3, 2).sum(2).argmax(1)
    tensors = {"train_x": x[:48].contiguous(), "train_y": y[:48].contiguous(),
               "eval_x": x[48:].contiguous(), "eval_y": y[48:].contiguous()}
    torch.manual_seed(0)
    for name, value in hf_recorder.Mlp(6, 3).state_dict().items():
        tensors["model." + name] = value.contiguous()
    save_file(tensors, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recorder", help="the oracle_recorder program (this library's side)")
    parser.add_argument("work_dir")
    parser.add_argument("--only", nargs="*", help="run only these scenarios")
    parser.add_argument("--keep", action="store_true", help="keep WORK_DIR (output folders and records)")
    parser.add_argument("--trainer-bin", help="the `trainer` program: also run the command-line scenarios")
    options = parser.parse_args()

    chosen = [s for s in scenario_list.all_scenarios() if not options.only or s["name"] in options.only]
    shutil.rmtree(options.work_dir, ignore_errors=True)
    os.makedirs(options.work_dir)
    scenarios_path = os.path.join(options.work_dir, "scenarios.json")
    data_path = os.path.join(options.work_dir, "data.safetensors")
    json.dump(chosen, open(scenarios_path, "w"), indent=1)
    write_data(data_path)

    # This library's side in the background while the original runs in this process.
    ours_path = os.path.join(options.work_dir, "ours.json")
    started = time.monotonic()
    cpp = subprocess.Popen([options.recorder, scenarios_path, data_path, os.path.join(options.work_dir, "ours"),
                            ours_path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    import hf_recorder  # transformers imports in seconds: after the C++ side has started
    import transformers
    original = hf_recorder.record_all(chosen, data_path, os.path.join(options.work_dir, "original"))
    _, errors = cpp.communicate()
    if cpp.returncode != 0:
        print(f"oracle_recorder failed (exit {cpp.returncode}):\n{errors}")
        return 2
    ours = json.load(open(ours_path))
    json.dump(original, open(os.path.join(options.work_dir, "original.json"), "w"), indent=1)

    differences, documented = 0, 0
    for s in chosen:
        text = compare.first_difference(original[s["name"]], ours[s["name"]])
        expected = s.get("documented_difference")
        if expected and text and text.startswith(expected["first"]):
            documented += 1
            print(f"documented difference {s['name']}: {expected['why']}")
        elif expected:
            differences += 1
            print(f"DIFFERENT {s['name']}: not the documented difference ({expected['first']}): {text}\n")
        elif text:
            differences += 1
            print(f"DIFFERENT {s['name']}: {text}\n")
        if "training_match" in s:
            text, good = training_match.measure(s, original[s["name"]], ours[s["name"]], options.work_dir)
            print(("training matches: " if good else "DIFFERENT training: ") + text)
            differences += 0 if good else 1
    if options.trainer_bin:
        import cli_side
        from safetensors.torch import load_file
        data = load_file(data_path)
        cli_side.write_inputs(data, options.work_dir)
        command_line = [s for s in scenario_list.command_line_scenarios() if s in chosen]
        for s in command_line:
            text = compare.first_difference(cli_side.run_original(s, data, options.work_dir),
                                            cli_side.run_ours(options.trainer_bin, s, options.work_dir))
            if text:
                differences += 1
                print(f"DIFFERENT trainer train ({s['name']}): {text}\n")
        chosen_count_cli = len(command_line)
    else:
        chosen_count_cli = 0

    # The comparison must be able to fail: differences planted in a scenario that logs a loss.
    probe = next((s["name"] for s in chosen if s["name"] == PLANTED_IN), None)
    if probe:
        for failure in planted.check(original[probe], ours[probe]):
            differences += 1
            print(f"DIFFERENT planted check in {probe}: {failure}")
    seconds = time.monotonic() - started
    if not options.keep and differences == 0:
        shutil.rmtree(options.work_dir, ignore_errors=True)
    print(f"transformers {transformers.__version__} (torch {torch.__version__}): {len(chosen)} scenarios "
          f"(and {chosen_count_cli} of them as a command line), "
          f"{differences} differences, {documented} documented ({seconds:.0f} s)")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
