"""Search methods compared with the search as the unit (`nas.core.search_compare`), from run folders.

Each arm is a set of search folders (trials.csv, and finalize/finalize.json with its pick's
fresh-seed APs); random search may instead be read from the benchmark table: its sampled rows in
draw order, cut into blocks of `--trials` (block b = search b), with the blocks' picks' fresh runs
in a folder of `spinenas table`-style runs (`--random-fresh`). Prints and writes (`--out`):

- per-search finals (the mean of the pick's fresh APs) and, per arm, the runs' intraclass
  correlation within a search (why pooled runs overstate);
- every method against the baseline and each pair of methods, one Holm family: difference with a
  bootstrap interval, gap in std of per-search finals, exact permutation p raw and adjusted, the
  smallest p possible and the lead detectable at 80% power with this many searches;
- expected best-so-far against trials and against CPU-hours (trials' cpu_s plus screening
  seconds), mean over searches with a bootstrap interval (a picture), and the sample efficiency:
  trials (CPU-hours) the baseline needs to reach its own level at `--trials` over what the method
  needs, with a bootstrap interval.

Run: .venv/bin/python benchmarks/search_comparison.py \\
         --arm screen='benchmarks/runs/screen-headline-2026-12-06/screen-seed*' \\
         --arm plain='benchmarks/runs/screen-headline-2026-12-06/plain-seed*' \\
         --random-table benchmarks/table --random-fresh benchmarks/runs/screen-headline-2026-12-06/random-fresh \\
         --out benchmarks/runs/screen-headline-2026-12-06/comparison
"""

from __future__ import annotations

import argparse
import glob
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nas.core.search_compare import anytime, compare_searches, icc, on_grid, per_search_finals, sample_efficiency, versus
from nas.reporting.bench_table import read_runs
from nas.reporting.plots import anytime_axes, save_figure


def search_arm(pattern: str, trials: int) -> dict[str, Any]:
    """One arm from its search folders: rewards and costs in trial order, the pick's fresh runs."""
    folders = sorted(Path(p) for p in glob.glob(pattern))
    if not folders:
        raise SystemExit(f"{pattern}: no search folder matches")
    rewards, costs, fresh = [], [], []
    for f in folders:
        t = pd.read_csv(f / "trials.csv").sort_values("number").head(trials)
        rewards.append(t["reward"].where(t["status"] == "ok").to_numpy(float))
        costs.append(np.cumsum(t["cpu_s"].fillna(0).to_numpy(float) + t.get("screen_s", pd.Series(0.0, index=t.index)).fillna(0).to_numpy(float)) / 3600)
        result = json.loads((f / "finalize" / "finalize.json").read_text())
        fresh.append(next(a["fresh"] for a in result["archs"] if a["name"] == result["pick"]))
    return {"searches": [str(f) for f in folders], "rewards": rewards, "cpu_h": costs, "fresh": fresh}


def table_arm(table: Path, fresh_folder: Path, trials: int, blocks: int) -> dict[str, Any]:
    """Random search read from the table: block b of its sampled seed-0 rows is search b; its pick
    (best seed-0 AP) has fresh runs in `fresh_folder`."""
    runs = read_runs(table / "runs.csv")
    drawn = runs[(runs["kind"] == "sampled") & (runs["run"] == "seed0")].sort_values("arch")
    fresh_runs = read_runs(fresh_folder / "runs.csv")
    out: dict[str, Any] = {"searches": [], "rewards": [], "cpu_h": [], "fresh": []}
    for b in range(blocks):
        block = drawn.iloc[b * trials:(b + 1) * trials]
        pick = block.loc[block["AP"].idxmax(), "arch_id"]
        mine = fresh_runs[(fresh_runs["arch_id"] == pick) & (fresh_runs["status"] == "ok")].sort_values("seed")
        out["searches"].append(f"{table} rows {b * trials}-{(b + 1) * trials - 1}")
        out["rewards"].append(block["AP"].to_numpy(float))
        out["cpu_h"].append(np.cumsum(block["cpu_s"].to_numpy(float)) / 3600)
        out["fresh"].append([float(x) for x in mine["AP"]])
    return out


def analyse(arms: dict[str, dict[str, Any]], baseline: str, trials: int) -> dict[str, Any]:
    finals = {name: per_search_finals(a["fresh"]) for name, a in arms.items()}
    methods = [n for n in arms if n != baseline]
    pairs = [*versus(finals, baseline), *itertools.combinations(methods, 2)]
    grid = np.arange(1, trials + 1, dtype=float)
    curves = {n: [on_grid(np.arange(1, len(r) + 1), r, grid) for r in a["rewards"]] for n, a in arms.items()}
    hours = np.linspace(0, max(float(c[-1]) for a in arms.values() for c in a["cpu_h"]), 200)[1:]
    base_h = float(np.median([c[-1] for c in arms[baseline]["cpu_h"]]))  # the baseline's own budget, in CPU-hours
    curves_h = {n: [on_grid(c, r, hours) for r, c in zip(a["rewards"], a["cpu_h"])] for n, a in arms.items()}
    result: dict[str, Any] = {
        "trials": trials, "baseline": baseline,
        "arms": {n: {"searches": a["searches"], "finals": [float(x) for x in finals[n]], "mean_final": float(np.nanmean(finals[n])),
                     "icc_of_fresh_runs": icc(a["fresh"]), "cpu_h": [float(c[-1]) for c in a["cpu_h"]]} for n, a in arms.items()},
        "comparisons": compare_searches(finals, pairs),
        "sample_efficiency_trials": {m: sample_efficiency(curves[m], curves[baseline], grid, at=trials) for m in methods},
        "sample_efficiency_cpu_h": {m: sample_efficiency(curves_h[m], curves_h[baseline], hours, at=base_h) for m in methods},
        "anytime_trials": {n: {k: v.tolist() for k, v in anytime(c).items()} for n, c in curves.items()},
    }  # fmt: skip
    result["_curves"] = (grid, curves, hours, curves_h)
    return result


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib.pyplot as plt

    grid, curves, hours, curves_h = result.pop("_curves")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, x, cs, label in ((axes[0], grid, curves, "trials"), (axes[1], hours, curves_h, "CPU-hours (trials + screening)")):
        anytime_axes(ax, x, {f"{name} ({len(c)} searches)": anytime(c) for name, c in cs.items()}, label, "best search reward so far (AP)")
    axes[0].legend()
    fig.suptitle("expected best-so-far, mean over searches, 95% bootstrap interval")
    save_figure(fig, path)


def markdown(result: dict[str, Any]) -> str:
    lines = ["| arm | searches | per-search finals | mean | ICC of a search's fresh runs |", "|---|---|---|---|---|"]
    for n, a in result["arms"].items():
        lines.append(f"| {n} | {len(a['finals'])} | {', '.join(f'{x:.4f}' for x in a['finals'])} | {a['mean_final']:.4f} | {a['icc_of_fresh_runs']:.2f} |")
    lines += ["", "| comparison | difference [95% interval] | gap (std) | permutation p | Holm p | smallest p possible | lead found 80% of the time | verdict |",
              "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, c in result["comparisons"].items():
        if c.get("p") is None:
            lines.append(f"| {name} | | | | | | | {c['verdict']} |")
            continue
        lo, hi = c["interval"]
        det = "none can be" if c["detectable_gap"] is None else f"{c['detectable_gap']:.1f} std"
        lines.append(f"| {name} | {c['difference']:+.4f} [{lo:+.4f}, {hi:+.4f}] | {c['gap']:+.1f} | {c['p']:.3f} | {c['p_holm']:.3f} | {c['smallest_p']:.3f} | {det} | {c['verdict']} |")
    lines += ["", "| method | sample efficiency vs the baseline, trials [95% interval] | reaches the baseline's level at | CPU-hours [95% interval] |", "|---|---|---|---|"]
    for m, t in result["sample_efficiency_trials"].items():
        h = result["sample_efficiency_cpu_h"][m]
        at = "never" if t["reached_at"] is None else f"trial {t['reached_at']:.0f}"
        lines.append(f"| {m} | {t['ratio']:.2f} [{t['low']:.2f}, {t['high']:.2f}] | {at} (level {t['level']:.4f}) | {h['ratio']:.2f} [{h['low']:.2f}, {h['high']:.2f}] |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arm", action="append", default=[], metavar="NAME=GLOB", help="an arm's search folders (repeat)")
    ap.add_argument("--random-table", type=Path, help="read the `random` arm from this benchmark table")
    ap.add_argument("--random-fresh", type=Path, help="the random arm's picks' fresh runs (runs.csv)")
    ap.add_argument("--baseline", default="random")
    ap.add_argument("--trials", type=int, default=32)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    arms = {}
    for spec in args.arm:
        name, _, pattern = spec.partition("=")
        arms[name] = search_arm(pattern, args.trials)
    if args.random_table:
        blocks = max(len(a["searches"]) for a in arms.values())
        arms["random"] = table_arm(args.random_table, args.random_fresh, args.trials, blocks)
    if args.baseline not in arms:
        raise SystemExit(f"--baseline {args.baseline}: no such arm (have {', '.join(arms)})")
    result = analyse(arms, args.baseline, args.trials)
    args.out.mkdir(parents=True, exist_ok=True)
    plot(result, args.out / "anytime.png")
    (args.out / "comparison.json").write_text(json.dumps(result, indent=2, default=float) + "\n")
    text = markdown(result)
    (args.out / "comparison.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
