"""Search-loop overhead: trials of a fixed, known length (surrogate proxy with duration_s).

overhead = 1 - (sum of the trials' own wall time) / (Tune loop wall time x max_concurrent):
the share of worker time not spent inside trials (scheduling, actor reuse, result handling,
controller updates, writing trials.csv and the searcher state). Ray start-up is not included.

Run: .venv/bin/python benchmarks/search_overhead.py --duration 2 --trials 40 --concurrent 2
"""

from __future__ import annotations

import argparse
import json
import tempfile

from nas.reporting.trials import SearchFolder
from nas.commands.search import run_search


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=2.0)
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--concurrent", type=int, default=2)
    ap.add_argument("--searcher", default="reinforce")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="ovh", dir="/tmp") as tmp:
        outcome = run_search(
            [
                "proxy=surrogate",
                f"proxy.duration_s={args.duration}",
                f"trials={args.trials}",
                f"max_concurrent={args.concurrent}",
                f"searcher={args.searcher}",
                f"out_dir={tmp}/run",
                f"ray.temp_dir={tmp}/ray",
                "progress_every_s=1000",
            ]
        )
        rows = SearchFolder(outcome.out_dir).read_rows()
        in_trials = sum(float(r.values["wall_s"]) for r in rows)
        s = outcome.summary
        capacity = s["tune_fit_s"] * args.concurrent
        print(
            json.dumps(
                {
                    "trials": len(rows),
                    "trial_duration_s": args.duration,
                    "max_concurrent": args.concurrent,
                    "searcher": args.searcher,
                    "tune_fit_s": round(s["tune_fit_s"], 2),
                    "driver_outside_tune_s": round(s["session_s"] - s["tune_fit_s"], 2),
                    "overhead_share": round(1 - in_trials / capacity, 4),
                    "overhead_per_trial_s": round((capacity - in_trials) / len(rows), 3),
                }
            )
        )


if __name__ == "__main__":
    main()
