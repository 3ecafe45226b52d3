"""What the compare_*.py checks of the remote trackers share: the original's key rewriting, the
timing keys whose values a resume after SIGKILL may leave from the killed attempt, and numbers in a
canonical text form (NaN-safe, "NaN"/"Infinity" strings as the services send them)."""
import math
import re

TIMING = re.compile(r"(^|[_/])runtime$|_per_second$")


def rewrite(key):
    """The original's rewrite_logs: eval_X -> eval/X, test_X -> test/X, K -> train/K."""
    for prefix in ("eval", "test"):
        if key.startswith(prefix + "_"):
            return prefix + "/" + key[len(prefix) + 1:]
    return "train/" + key


def canonical(value):
    value = float(value)  # also "NaN", "Infinity", "-Infinity"
    return "nan" if math.isnan(value) else repr(value)


def point(key, step, value, timings_may_differ):
    """A metric point to count: a timing's value is left out when it may differ."""
    return (key, step, "a timing" if timings_may_differ and TIMING.search(key) else canonical(value))
