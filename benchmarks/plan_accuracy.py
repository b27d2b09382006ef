"""How close `spinenas plan`'s per-trial estimate comes to a real search's trials on this machine.

Times `--steps` training steps as `spinenas plan` does, runs the search it planned, and prints one
JSON object: the plan's per-trial seconds, the trials' measured `wall_s`, and their ratio (the
estimate is meant to be within 2x). A timing, so it lives here and not in the test suite, where a
loaded machine would make it flake; the test suite checks the plan's arithmetic instead.

Run: .venv/bin/python benchmarks/plan_accuracy.py [--steps 8] [Hydra overrides of the search]
Default search: proxy=synthetic_tiny proxy.epochs=2 trials=2 max_concurrent=1 trial.cpus=2.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time

from nas.commands.plan import plan
from nas.commands.search import run_search
from nas.reporting.trials import SearchFolder

DEFAULT = ["proxy=synthetic_tiny", "proxy.epochs=2", "trials=2", "max_concurrent=1", "trial.cpus=2"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("overrides", nargs="*")
    ap.add_argument("--steps", type=int, default=8, help="training steps the plan times (default 8)")
    args = ap.parse_args()
    overrides = [*DEFAULT, *args.overrides]
    estimate = plan(overrides, steps=args.steps)
    with tempfile.TemporaryDirectory(prefix="plan", dir="/tmp") as tmp:
        start = time.perf_counter()
        run_search([*overrides, f"out_dir={tmp}/run", f"ray.temp_dir={tmp}/ray", "progress_every_s=1000"])
        search_s = time.perf_counter() - start
        rows = SearchFolder(f"{tmp}/run").read_rows()
    measured = [float(r.values["wall_s"]) for r in rows if r.status == "ok"]
    mean = sum(measured) / max(len(measured), 1)
    print(
        json.dumps(
            {
                "overrides": overrides,
                "cpu": platform.processor() or platform.machine(),
                "plan_per_trial_s": round(estimate.per_trial_s, 1),
                "plan_wall_s": round(estimate.wall_s, 1),
                "measured_wall_s": [round(m, 1) for m in measured],
                "search_s": round(search_s, 1),
                "ratio": round(estimate.per_trial_s / mean, 3) if measured else None,
                "within_2x": bool(measured) and 0.5 <= estimate.per_trial_s / mean <= 2.0,
            }
        )
    )


if __name__ == "__main__":
    main()
