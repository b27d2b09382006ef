"""Search methods simulated on the benchmark table: every method that can be restricted to the
table's architectures, over many search seeds, judged with the search as the unit.

A simulated search of `--trials` trials draws architectures from the table's pool (its sampled rows
in the space; each at most once). What it sees of a trial is the table's `seed0` AP (the search
reward, as a search trains with proxy seed 0); its final is the `seed1` AP of its best trial (a
fresh seed: the selection and its test use different runs). Methods:

- `random`: uniform draws without replacement;
- `zero_cost`: each trial the best `grad_norm` score among `--k` uniform draws (scores from the
  table's zero_cost.csv), as `screen=zero_cost`;
- `predictor/<encoding>`: `--warmup` uniform trials, then each trial the best of `--k` uniform draws
  by the predictor's mean + kappa x spread (`nas.screening.predictor`, refitted every `--refit`
  trials on what the search has seen), as `screen=predictor`;
- `predictor-all/<encoding>`: the same over every untried row of the pool (the screen at its
  largest K).

The pool is the table (152 architectures), so a method cannot find anything better than its best,
and what a 32-trial search can gain over random is bounded by it; the real searches draw from the
whole space. Outputs per-search finals, their comparison (`nas.core.search_compare`: permutation p,
Holm over the methods against random, interval), best-so-far curves and the sample efficiency
against random (the trials random needs to reach its own 32-trial level over what the method
needs), as JSON, markdown and a picture.

Run: .venv/bin/python benchmarks/table_simulation.py --seeds 200 --out benchmarks/runs/table-simulation-2026-12-07
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Callable

import numpy as np

from nas.core.search_compare import anytime, compare_searches, methods_table, on_grid, sample_efficiency, versus
from nas.reporting.bench_table import per_seed_ap, read_runs
from nas.screening.predictor import ENCODINGS, Predictor
from predictor_curve import SPACE, load_rows


def load_pool(table: Path) -> tuple[list, np.ndarray, np.ndarray, np.ndarray]:
    """The table's sampled architectures in the space with both seeds (`predictor_curve.load_rows`):
    specs, seed-0 AP, seed-1 AP, grad_norm."""
    archs, _, rows = load_rows(table, SPACE)
    runs = read_runs(table / "runs.csv")
    per_seed = per_seed_ap(runs)
    keep = [k for k, arch_id in enumerate(rows["arch_id"]) if arch_id in per_seed.index and rows["kind"].iloc[k] == "sampled"]
    ap = per_seed.loc[rows["arch_id"].iloc[keep]]
    return [archs[k] for k in keep], ap["seed0"].to_numpy(float), ap["seed1"].to_numpy(float), rows["grad_norm"].iloc[keep].to_numpy(float)


Chooser = Callable[[np.random.Generator, list[int], list[int]], int]


def simulate(choose: Chooser, n: int, trials: int, seed: int) -> list[int]:
    """The rows a search tries, in order: `choose(rng, tried, untried)` picks the next."""
    rng = np.random.default_rng(seed)
    tried: list[int] = []
    for _ in range(trials):
        untried = [i for i in range(n) if i not in set(tried)]
        tried.append(choose(rng, tried, untried))
    return tried


def methods(archs: list, seen: np.ndarray, grad_norm: np.ndarray, k: int, warmup: int, kappa: float, refit: int) -> dict[str, Chooser]:
    def random(rng, tried, untried):  # noqa: ANN001, ANN202
        return int(rng.choice(untried))

    def zero_cost(rng, tried, untried):  # noqa: ANN001, ANN202
        draws = rng.choice(untried, min(k, len(untried)), replace=False)
        return int(draws[np.argmax(grad_norm[draws])])

    def predictor(encoding: str, all_rows: bool) -> Chooser:
        cache: dict = {}

        def choose(rng, tried, untried):  # noqa: ANN001, ANN202
            if len(tried) < warmup:
                return int(rng.choice(untried))
            draws = np.asarray(untried) if all_rows else rng.choice(untried, min(k, len(untried)), replace=False)
            key = (len(tried) - warmup) // refit
            if cache.get("key") != (key, tuple(tried[:warmup])):
                upto = warmup + key * refit
                cache.update(key=(key, tuple(tried[:warmup])), model=Predictor(SPACE, "gbr", encoding=encoding).fit([archs[i] for i in tried[:upto]], seen[tried[:upto]]))
            mean, spread = cache["model"].predict([archs[i] for i in draws])
            return int(draws[np.argmax(mean + kappa * spread)])

        return choose

    out: dict[str, Chooser] = {"random": random, "zero_cost": zero_cost}
    for enc in ENCODINGS:
        out[f"predictor/{enc}"] = predictor(enc, False)
    out["predictor-all/structure"] = predictor("structure", True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", type=Path, default=Path("benchmarks/table"))
    ap.add_argument("--seeds", type=int, default=200)
    ap.add_argument("--trials", type=int, default=32)
    ap.add_argument("--k", type=int, default=16, help="draws a screen chooses among per trial")
    ap.add_argument("--warmup", type=int, default=8)
    ap.add_argument("--kappa", type=float, default=1.0)
    ap.add_argument("--refit", type=int, default=2, help="the predictor is refitted every this many trials")
    ap.add_argument("--methods", nargs="+", default=None)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    archs, seen, fresh, grad_norm = load_pool(args.table)
    chosen = methods(archs, seen, grad_norm, args.k, args.warmup, args.kappa, args.refit)
    names = args.methods or list(chosen)
    grid = np.arange(1, args.trials + 1, dtype=float)
    finals, curves, seconds = {}, {}, {}
    for name in names:
        t = time.perf_counter()
        searches = [simulate(chosen[name], len(archs), args.trials, s) for s in range(args.seeds)]
        seconds[name] = time.perf_counter() - t
        finals[name] = [float(fresh[max(tr, key=lambda i: seen[i])]) for tr in searches]
        curves[name] = [on_grid(grid, seen[tr], grid) for tr in searches]
        print(f"{name}: mean final {np.mean(finals[name]):.4f} over {args.seeds} searches ({seconds[name]:.0f} s)", flush=True)
    comparisons = compare_searches(finals, versus(finals, "random")) if "random" in finals else {}
    efficiency = {m: sample_efficiency(curves[m], curves["random"], grid, at=args.trials) for m in names if m != "random" and "random" in curves}
    result = {
        "pool": len(archs), "pool_best_fresh": float(fresh[np.argmax(seen)]), "pool_mean_fresh": float(fresh.mean()),
        "settings": {k: v for k, v in vars(args).items() if k not in ("table", "out")},
        "finals": {n: {"mean": float(np.mean(f)), "std": float(np.std(f, ddof=1))} for n, f in finals.items()},
        "comparisons": comparisons, "sample_efficiency": efficiency, "seconds": seconds,
        "anytime": {n: {k: v.tolist() for k, v in anytime(c).items()} for n, c in curves.items()},
    }  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "simulation.json").write_text(json.dumps(result, indent=2, default=float) + "\n")
    lines = [f"{args.seeds} simulated searches of {args.trials} trials per method on the table's {len(archs)} architectures "
             f"(final = the fresh seed-1 AP of the best seed-0 trial; pool mean {fresh.mean():.4f})", "",
             *methods_table({n: finals[n] for n in names}, comparisons, efficiency)]  # fmt: skip
    text = "\n".join(lines)
    (args.out / "simulation.md").write_text(text + "\n")
    print(text)
    import matplotlib.pyplot as plt

    from nas.reporting.plots import anytime_axes, save_figure

    fig, ax = plt.subplots(figsize=(6.5, 4))
    anytime_axes(ax, grid, {n: result["anytime"][n] for n in names}, "trials", "best search reward so far (seed-0 AP)")
    ax.set_title(f"{args.seeds} simulated searches per method, 95% interval of the mean")
    ax.legend(fontsize=8)
    save_figure(fig, args.out / "anytime.png")


if __name__ == "__main__":
    main()
