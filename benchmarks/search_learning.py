"""Does the controller learn on a real proxy? REINFORCE against random search, same budget and seeds.

Runs `spinenas search` (the real trial code, a local Ray) once per searcher and seed, then compares
the mean reward of the first and last third of each search's trials (difference, its standard
error from the rewards themselves), and the searchers with each other. Writes a Markdown table to
stdout and a plot of the running mean reward to --plot. Each search keeps its folder under --out,
and a search whose folder already holds all its trials is read back instead of run again.

Run: .venv/bin/python benchmarks/search_learning.py --trials 64 --seeds 0 1 --plot docs/images/search_learning.png
"""

from __future__ import annotations

import argparse
import math
import statistics
from pathlib import Path

from nas.reporting.trials import SearchFolder
from nas.reporting.plots import save_figure
from nas.commands.search import run_search


def thirds(rewards: list[float]) -> tuple[list[float], list[float]]:
    """The first and the last third of a reward sequence (completion order)."""
    k = len(rewards) // 3
    return rewards[:k], rewards[-k:]


def diff_and_se(first: list[float], last: list[float]) -> tuple[float, float]:
    """Mean(last) - mean(first) and the standard error of that difference (Welch)."""
    diff = statistics.mean(last) - statistics.mean(first)
    se = math.sqrt(statistics.variance(first) / len(first) + statistics.variance(last) / len(last))
    return diff, se


def run(searcher: str, seed: int, trials: int, out: Path, extra: list[str]) -> list[float]:
    folder = out / f"{searcher}-seed{seed}"
    rows = SearchFolder(folder).read_rows()
    if len(rows) < trials:
        resume = ["resume=true"] if rows else []
        run_search([f"searcher={searcher}", f"seed={seed}", f"trials={trials}", f"out_dir={folder}", *resume, *extra])
        rows = SearchFolder(folder).read_rows()
    return [r.reward for r in rows]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("overrides", nargs="*", help="search overrides shared by every run (default: the default search)")
    ap.add_argument("--trials", type=int, default=64)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--searchers", nargs="+", default=["reinforce", "random"])
    ap.add_argument("--out", type=Path, default=Path("results/search-learning"))
    ap.add_argument("--plot", type=Path, default=None)
    args = ap.parse_args()
    if args.trials < 6:
        ap.error("--trials must be at least 6 (two per third, for a standard error)")

    curves: dict[tuple[str, int], list[float]] = {}
    for seed in args.seeds:
        for name in args.searchers:
            curves[(name, seed)] = run(name, seed, args.trials, args.out, args.overrides)

    print("| searcher | seed | mean reward, first third | last third | last - first (+- s.e.) | mean of all | best |")
    print("|---|---|---|---|---|---|---|")
    for (name, seed), rewards in curves.items():
        first, last = thirds(rewards)
        diff, se = diff_and_se(first, last)
        print(
            f"| {name} | {seed} | {statistics.mean(first):.4f} | {statistics.mean(last):.4f} | {diff:+.4f} +- {se:.4f} | "
            f"{statistics.mean(rewards):.4f} | {max(rewards):.4f} |"
        )
    if len(args.searchers) == 2:
        a, b = args.searchers
        for seed in args.seeds:
            _, last_a = thirds(curves[(a, seed)])
            _, last_b = thirds(curves[(b, seed)])
            diff, se = diff_and_se(last_b, last_a)
            print(f"\nseed {seed}: last third, {a} - {b} = {diff:+.4f} +- {se:.4f}")
    if args.plot:
        plot(curves, args.plot, args.trials)


def plot(curves: dict[tuple[str, int], list[float]], path: Path, trials: int, window: int = 8) -> None:
    """Reward per trial (dots) and its running mean over `window` trials (lines), per searcher and seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"reinforce": "#4c72b0", "random": "#8c8c8c", "evolution": "#55a868", "ppo": "#dd8452"}
    styles = ["-", "--", ":", "-."]
    seeds = sorted({s for _, s in curves})
    fig, ax = plt.subplots(figsize=(7.5, 4))
    for (name, seed), rewards in curves.items():
        colour, style = colours.get(name, "#000000"), styles[seeds.index(seed) % len(styles)]
        xs = range(1, len(rewards) + 1)
        ax.scatter(xs, rewards, s=6, color=colour, alpha=0.35)
        running = [statistics.mean(rewards[max(0, i - window + 1) : i + 1]) for i in range(len(rewards))]
        ax.plot(xs, running, style, color=colour, label=f"{name}, seed {seed} (mean of last {window})")
    for k in (trials // 3, trials - trials // 3):
        ax.axvline(k + 0.5, color="#dddddd", lw=0.8, zorder=0)
    ax.set_xlabel("trial (completion order)")
    ax.set_ylabel("reward (proxy AP)")
    ax.legend(fontsize=7, frameon=False)
    save_figure(fig, path)


if __name__ == "__main__":
    main()
