"""Resident memory of one trial worker over many runs whose options differ, as fidelity's seeds and
proxy-design's candidates (seed, length, image size) make them differ.

Runs `--runs` trials one after another in this process through the search's own trial code
(`nas.runner.trial.run_trial`, as a re-used Ray actor runs them), cycling the seed, the number of
epochs and the input size, and prints the process's resident memory (VmRSS) after each run and its
peak (VmHWM). A worker that keeps what each run built grows with every run; one that holds only the
current run plus the shared prepared data is flat after the first runs of each input size.

Run: .venv/bin/python benchmarks/worker_memory.py --runs 60 --proxy synthetic_tiny
On your data: --proxy custom --set proxy.data.format=csv proxy.data.train_ann=... (any key=value of
`spinenas search`).
"""

from __future__ import annotations

import argparse
import json
import time

import torch
from scipy import stats

from nas.core.memory import process_memory_mb
from nas.runner.trial import TrialSpec, run_trial
from nas.settings.search import load_settings
from search_space.space import get_space


def memory_mb() -> tuple[float, float]:
    """This process's resident and peak resident memory in MB."""
    mem = process_memory_mb()
    return mem["rss"], mem["peak"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--proxy", default="synthetic_tiny")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256], help="input sizes cycled through (as proxy-design's candidates)")
    parser.add_argument("--train-images", type=int, nargs="+", default=[64], help="data.max_train_images cycled through (several: runs differ in their data, as proxy-design's do)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="further overrides, as `spinenas search` takes them (a dataset's proxy.data.*)")
    parser.add_argument("--json", help="also write the per-run numbers here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    settings = load_settings([f"proxy={args.proxy}", *args.set])
    space = get_space("r0_sp53", block_adjustments=True)
    rows = []
    t0 = time.perf_counter()
    for k in range(args.runs):
        arch = space.sample(k)
        overrides = {"seed": k, "epochs": 1 + k % 2, "image_size": args.sizes[k % len(args.sizes)], "data.max_train_images": args.train_images[k % len(args.train_images)]}
        result = run_trial({"arch": arch.to_dict(), "arch_id": arch.id, "proxy_overrides": overrides}, TrialSpec(settings.proxy, settings.reward, "spinenet49", threads=1))
        rss, peak = memory_mb()
        rows.append({"run": k + 1, "status": result["status"], "rss_mb": round(rss, 1), "peak_mb": round(peak, 1), **overrides})
        print(f"run {k + 1:3d} {result['status']:<6} size {overrides['image_size']} images {overrides['data.max_train_images']} seed {k:3d}: RSS {rss:7.1f} MB, peak {peak:7.1f} MB", flush=True)
    warm = 2 * len(args.sizes)  # runs until every input size has run twice
    first = rows[min(len(rows) - 1, warm - 1)]["rss_mb"]
    after = [r for r in rows if r["run"] > warm]
    slope = stats.theilslopes([r["rss_mb"] for r in after], [r["run"] for r in after]) if len(after) >= 3 else None
    summary = {"runs": args.runs, "rss_after_warmup_mb": first, "rss_last_mb": rows[-1]["rss_mb"], "peak_mb": rows[-1]["peak_mb"],
               "growth_per_run_mb": None if slope is None else round(slope.slope, 2),  # Theil-Sen over the runs after warm-up, with its 95% interval
               "growth_per_run_95_mb": None if slope is None else [round(slope.low_slope, 2), round(slope.high_slope, 2)],
               "seconds": round(time.perf_counter() - t0)}  # fmt: skip
    print(json.dumps(summary))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"summary": summary, "runs": rows}, f, indent=1)


if __name__ == "__main__":
    main()
