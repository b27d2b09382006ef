"""Multi-fidelity search simulated on the benchmark table, every method charged its CPU (issue 44).

The table's runs measured AP after 1/4 and 1/2 of training (`AP@0.25`, `AP@0.5`, probes of the same
run that goes on to the end) and timed each part: training (`train_s`), each probe's evaluation
(`probe_eval_s`, one per probe), the final evaluation (`eval_s`) and the rest of the run's own timer
(the model built, the data made ready: `wall_s` minus those; Ray's scheduling and a worker's start
are outside it, about equal per run, and not charged: a method that starts more runs is favoured by
that much). That is enough to replay successive halving without training:

- `random`: uniform draws without replacement, each trained to the end (its cost: the rest + training
  + the final evaluation);
- `halving n/eta`: brackets of `n` uniform draws trained to 1/4, the best 1/eta of them (by the seed-0
  AP at that rung) go on to 1/2, the best 1/eta of those to the end; a run that goes on continues
  (it pays for the training between rungs, and for an evaluation at every rung it reaches); brackets
  follow each other until the budget is spent (a step that would overrun it is not taken);
- `halving n/eta + zero_cost`: the same with every entrant the best grad_norm of `--k` uniform draws
  (as `screen=zero_cost` chooses what a trial trains).

Costs are in full-trial equivalents: seconds over the pool's mean cost of one plain trial (so
random's 32 trials cost about 32). Every method has the same budget (`--budget`, default 32). A
search's answer is its best fully trained architecture by the seed-0 AP; its final is that
architecture's seed-1 AP (a fresh seed). Judged with the search as the unit
(`nas.core.search_compare`: permutation p, Holm over the methods against random, bootstrap
intervals), with best-so-far curves and the sample efficiency against random on the CPU axis, read
on the search's own seed-0 reward and on the fresh seed-1 AP of its pick (the first overstates what
a method finds; the second is noisier). What-ifs outside the comparison: the rungs' evaluations
free (how much of halving's shortfall they are), and with `--rung-subset` (a `benchmarks/rung_subset.py`
output) the rungs evaluated on the first `--rung-images` validation images (each of them), charged that
evaluation's measured share of the whole one's seconds, each rung's AP given that measurement's
relative error (Gaussian, the std of AP_n / AP_all - 1 over its architectures at 1/4 of training,
assumed the same at 1/2).

The timings are each run's own wall seconds (a run's parts were timed under the same load, so
their ratios hold; the table's machines and loads differ between runs, so the absolute seconds are
noisy). The pool is the table: a method cannot find better than the table's best.

Run: .venv/bin/python benchmarks/halving_simulation.py --seeds 500 --rung-subset benchmarks/runs/rung-subset-2026-12-08 \\
         --out benchmarks/runs/halving-simulation-2026-12-08
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import yaml

from nas.core.search_compare import anytime, compare_searches, methods_table, on_grid, sample_efficiency, versus
from nas.reporting.bench_table import read_runs
from table_simulation import load_pool

RUNGS = (0.25, 0.5, 1.0)


@dataclass(frozen=True)
class Pool:
    """The table's sampled architectures with both seeds: seed-0 AP at each rung, seed-1 AP (fresh),
    grad_norm, and the seed-0 run's costs in full-trial equivalents."""

    seen: np.ndarray  # (rows, rungs): seed-0 AP@0.25, AP@0.5, AP
    fresh: np.ndarray  # seed-1 AP
    grad_norm: np.ndarray
    rest: np.ndarray  # the rest of the run's own timer (the model built, the data made ready): paid once per run
    train: np.ndarray  # the whole training
    probe_eval: np.ndarray  # one evaluation at a rung before the end
    final_eval: np.ndarray

    @property
    def plain(self) -> np.ndarray:
        """A plain trial: trained to the end, evaluated once."""
        return self.rest + self.train + self.final_eval


def load(table: Path) -> Pool:
    """The pool of `table_simulation.load_pool` with each row's seed-0 probes and timings."""
    config = yaml.safe_load((table / "config.yaml").read_text()) if (table / "config.yaml").exists() else {}
    if (config.get("proxy") or {}).get("rung_val_images") is not None:
        raise SystemExit(f"{table}: its probes were evaluated on part of the validation set (proxy.rung_val_images); this replay needs whole-set probes")
    archs, seen, fresh, grad_norm = load_pool(table)
    runs = read_runs(table / "runs.csv")
    seed0 = runs[(runs["run"] == "seed0") & (runs["status"] == "ok")].set_index("arch_id")
    ids = [a.id for a in archs]
    rows = seed0.loc[ids]
    if not np.allclose(rows["AP"].to_numpy(float), seen):
        raise SystemExit("the seed-0 runs do not match the pool's seed-0 AP")
    probes_per_run = sum(c.startswith("AP@") for c in rows.columns)
    parts = rows[["train_s", "probe_eval_s", "eval_s", "wall_s"]].to_numpy(float)
    if not np.isfinite(parts).all() or rows[["AP@0.25", "AP@0.5"]].isna().any().any():
        raise SystemExit(f"{table}: every seed-0 run needs train_s, probe_eval_s, eval_s, wall_s and AP@0.25, AP@0.5")
    train, probes, final, wall = parts.T
    rest = np.clip(wall - train - probes - final, 0.0, None)
    unit = float(np.mean(rest + train + final))
    return Pool(
        seen=np.column_stack([rows["AP@0.25"].to_numpy(float), rows["AP@0.5"].to_numpy(float), seen]),
        fresh=fresh, grad_norm=grad_norm, rest=rest / unit, train=train / unit, probe_eval=probes / probes_per_run / unit, final_eval=final / unit,
    )  # fmt: skip


@dataclass
class Trace:
    """What a simulated search finished: the cumulative cost when each full training ended, that run's
    row; and how many architectures it started training at all."""

    costs: list[float]
    rows: list[int]
    tried: int


Entry = Callable[[np.random.Generator, set[int]], int]


def uniform(pool: Pool) -> Entry:
    def pick(rng: np.random.Generator, tried: set[int]) -> int:
        return int(rng.choice([i for i in range(len(pool.fresh)) if i not in tried]))

    return pick


def zero_cost(pool: Pool, k: int) -> Entry:
    def pick(rng: np.random.Generator, tried: set[int]) -> int:
        untried = [i for i in range(len(pool.fresh)) if i not in tried]
        draws = rng.choice(untried, min(k, len(untried)), replace=False)
        return int(draws[np.argmax(pool.grad_norm[draws])])

    return pick


def plain_search(pool: Pool, entry: Entry, budget: float, seed: int) -> Trace:
    """Trials trained to the end, one after the other, until the next would overrun the budget."""
    rng, tried, spent, trace = np.random.default_rng(seed), set(), 0.0, Trace([], [], 0)
    while len(tried) < len(pool.fresh):
        i = entry(rng, tried)
        tried.add(i)
        if spent + pool.plain[i] > budget + 1e-9:
            break
        spent += pool.plain[i]
        trace.costs.append(spent)
        trace.rows.append(i)
        trace.tried += 1
    return trace


def halving_search(pool: Pool, entry: Entry, n: int, eta: int, budget: float, seed: int, noise: float = 0.0) -> Trace:
    """Synchronous successive halving over `RUNGS`, bracket after bracket, within `budget`. `noise`:
    a relative error of the rungs' AP (an evaluation on fewer images), drawn on its own generator."""
    rng, tried, spent, trace = np.random.default_rng(seed), set(), 0.0, Trace([], [], 0)
    errors = np.random.default_rng(seed + 1_000_003)

    def step(i: int, rung: int) -> bool:
        nonlocal spent
        before = RUNGS[rung - 1] if rung else 0.0
        cost = (pool.rest[i] if rung == 0 else 0.0) + (RUNGS[rung] - before) * pool.train[i]
        cost += pool.final_eval[i] if rung == len(RUNGS) - 1 else pool.probe_eval[i]
        if spent + cost > budget + 1e-9:
            return False
        spent += cost
        trace.tried += rung == 0
        if rung == len(RUNGS) - 1:
            trace.costs.append(spent)
            trace.rows.append(i)
        return True

    while len(tried) + n <= len(pool.fresh):
        alive = []
        for _ in range(n):
            i = entry(rng, tried)
            tried.add(i)
            alive.append(i)
        for rung in range(len(RUNGS)):
            for i in alive:
                if not step(i, rung):
                    return trace
            if rung < len(RUNGS) - 1:
                keep = max(1, math.ceil(len(alive) / eta))
                value = {i: pool.seen[i, rung] * (1 + noise * errors.standard_normal()) for i in alive}
                alive = sorted(alive, key=lambda i: -value[i])[:keep]
    return trace


def rung_subset_model(folder: Path, images: int) -> tuple[float, float, str]:
    """From a `benchmarks/rung_subset.py` output: the cost of a rung's evaluation on the first `images`
    validation images relative to all of them (measured seconds), and the relative error of its AP
    against the whole set's (std over the measured architectures); with the what-if's label."""
    summary = json.loads((folder / "summary.json").read_text())
    rows = pd.read_csv(folder / "rows.csv")
    whole = rows[f"AP_{summary['val_images']}"].to_numpy(float)
    noise = float(np.std(rows[f"AP_{images}"].to_numpy(float) / whole - 1, ddof=1))
    scale = summary["subsets"][str(images)]["seconds"] / summary["whole"]["seconds"]
    return scale, noise, f"rungs on the first {images} images (cost x{scale:.2f}, relative AP error {noise:.2f}, measured)"


def curves_of(pool: Pool, trace: Trace, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A search's best-so-far at each budget of `grid`: its seed-0 AP (what the search selects by),
    and the fresh seed-1 AP of that same pick (what it finds); NaN before its first full run."""
    if not trace.rows:
        return np.full(len(grid), np.nan), np.full(len(grid), np.nan)
    seen = pool.seen[trace.rows, -1]
    pick = np.asarray(trace.rows)[[int(np.argmax(seen[: k + 1])) for k in range(len(seen))]]
    idx = np.searchsorted(np.asarray(trace.costs), grid, side="right") - 1
    return on_grid(trace.costs, seen, grid), np.where(idx >= 0, pool.fresh[pick][np.clip(idx, 0, None)], np.nan)


def simulate(pool: Pool, methods: dict[str, Callable[[Pool, int], Trace]], seeds: int, grid: np.ndarray) -> dict[str, dict]:
    """Every method over `seeds` search seeds: finals (fresh AP of the pick, NaN where nothing was
    trained to the end), both curves, and the mean counts of runs started and finished."""
    out = {}
    for name, search in methods.items():
        t = time.perf_counter()
        traces = [search(pool, s) for s in range(seeds)]
        finals = [float(pool.fresh[tr.rows[int(np.argmax(pool.seen[tr.rows, -1]))]]) if tr.rows else math.nan for tr in traces]
        seen, fresh = zip(*(curves_of(pool, tr, grid) for tr in traces))
        counts = {"tried": float(np.mean([tr.tried for tr in traces])), "fully_trained": float(np.mean([len(tr.rows) for tr in traces]))}
        out[name] = {"finals": finals, "seen": list(seen), "fresh": list(fresh), "counts": counts}
        print(f"{name}: mean final {np.nanmean(finals):.4f}, {counts['tried']:.1f} started, {counts['fully_trained']:.1f} trained to the end "
              f"({time.perf_counter() - t:.0f} s)", flush=True)  # fmt: skip
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", type=Path, default=Path("benchmarks/table"))
    ap.add_argument("--seeds", type=int, default=500)
    ap.add_argument("--budget", type=float, default=32.0, help="full-trial equivalents of CPU per search")
    ap.add_argument("--k", type=int, default=16, help="draws the zero-cost screen chooses among per entrant")
    ap.add_argument("--rung-subset", type=Path, default=None, help="a benchmarks/rung_subset.py output: adds a what-if of rungs on fewer images")
    ap.add_argument("--rung-images", type=int, nargs="+", default=[64, 128, 256])
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    pool = load(args.table)
    methods: dict[str, Callable[[Pool, int], Trace]] = {
        "random": lambda p, s: plain_search(p, uniform(p), args.budget, s),
        "zero_cost": lambda p, s: plain_search(p, zero_cost(p, args.k), args.budget, s),
        "halving 8/2": lambda p, s: halving_search(p, uniform(p), 8, 2, args.budget, s),
        "halving 9/3": lambda p, s: halving_search(p, uniform(p), 9, 3, args.budget, s),
        "halving 8/2 + zero_cost": lambda p, s: halving_search(p, zero_cost(p, args.k), 8, 2, args.budget, s),
    }
    grid = np.linspace(0.5, args.budget, int(args.budget * 2))
    sims = simulate(pool, methods, args.seeds, grid)
    # What-if, outside the comparison's family: the rungs' evaluations free (how much of the gap to 2x they are).
    halved = ("halving 8/2", "halving 9/3")
    what_if = {"rung evaluations free": simulate(replace(pool, probe_eval=np.zeros_like(pool.probe_eval)), {n: methods[n] for n in halved}, args.seeds, grid)}
    shapes = {"halving 8/2": (8, 2), "halving 9/3": (9, 3)}
    for images in args.rung_images if args.rung_subset is not None else []:
        scale, noise, label = rung_subset_model(args.rung_subset, images)
        fewer = replace(pool, probe_eval=pool.probe_eval * scale)
        what_if[label] = simulate(fewer, {n: (lambda p, s, ne=shapes[n], e=noise: halving_search(p, uniform(p), *ne, args.budget, s, e)) for n in halved}, args.seeds, grid)
    finals = {n: v["finals"] for n, v in sims.items()}
    comparisons = compare_searches(finals, versus(finals, "random"))
    base = sims["random"]
    efficiency = {m: sample_efficiency(v["seen"], base["seen"], grid, at=args.budget) for m, v in sims.items() if m != "random"}
    efficiency_fresh = {m: sample_efficiency(v["fresh"], base["fresh"], grid, at=args.budget) for m, v in sims.items() if m != "random"}
    efficiency_what_if = {k: {m: {"seen": sample_efficiency(v["seen"], base["seen"], grid, at=args.budget),
                                  "fresh": sample_efficiency(v["fresh"], base["fresh"], grid, at=args.budget),
                                  "final": float(np.nanmean(v["finals"])), "counts": v["counts"]} for m, v in sims_k.items()}
                          for k, sims_k in what_if.items()}  # fmt: skip
    costs = pd.DataFrame({"rest": pool.rest, "train": pool.train, "probe_eval": pool.probe_eval, "final_eval": pool.final_eval})
    counts = {n: v["counts"] for n, v in sims.items()}
    result = {
        "pool": len(pool.fresh), "pool_best_fresh": float(pool.fresh[np.argmax(pool.seen[:, -1])]), "pool_mean_fresh": float(pool.fresh.mean()),
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items() if k != "out"},
        "cost_parts_mean": {k: float(v) for k, v in costs.mean().items()}, "counts": counts,
        "finals": {n: {"mean": float(np.nanmean(f)), "std": float(np.nanstd(f, ddof=1)), "none": int(np.isnan(f).sum())} for n, f in finals.items()},
        "comparisons": comparisons, "sample_efficiency": efficiency, "sample_efficiency_fresh": efficiency_fresh,
        "what_if": efficiency_what_if,
        "anytime": {n: {k: v.tolist() for k, v in anytime(c["seen"]).items()} for n, c in sims.items()},
        "anytime_fresh": {n: {k: v.tolist() for k, v in anytime(c["fresh"]).items()} for n, c in sims.items()},
    }  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "simulation.json").write_text(json.dumps(result, indent=2, default=float) + "\n")
    parts = result["cost_parts_mean"]

    def ratio(e: dict) -> str:
        return f"{e['ratio']:.2f} [{e['low']:.2f}, {e['high']:.2f}]"

    lines = [
        f"{args.seeds} simulated searches per method on the table's {len(pool.fresh)} architectures ({args.table}), "
        f"{args.budget:g} full-trial equivalents of CPU each (final = the fresh seed-1 AP of the best seed-0 run trained to the end; "
        f"pool mean {pool.fresh.mean():.4f}). A plain trial's mean cost (1 by definition): the rest of the run {parts['rest']:.3f} + training {parts['train']:.3f} "
        f"+ final evaluation {parts['final_eval']:.3f}; an evaluation at a rung {parts['probe_eval']:.3f}. "
        "Sample efficiency in the table below: on the search's own seed-0 reward.", "",
        *methods_table(finals, comparisons, efficiency), "",
        "| method | architectures started | trained to the end | sample efficiency on the seed-0 reward [95%] | on the pick's fresh seed-1 AP [95%] |",
        "|---|---|---|---|---|",
        *[f"| {n} | {c['tried']:.1f} | {c['fully_trained']:.1f} | {ratio(efficiency[n]) if n in efficiency else ''} | "
          f"{ratio(efficiency_fresh[n]) if n in efficiency_fresh else ''} |" for n, c in counts.items()],
        "", "What-ifs (not in the comparison above):", "",
        "| what if | method | architectures started | mean final | sample efficiency on the seed-0 reward [95%] | on the pick's fresh AP [95%] |",
        "|---|---|---|---|---|---|",
        *[f"| {k} | {m} | {e['counts']['tried']:.1f} | {e['final']:.4f} | {ratio(e['seen'])} | {ratio(e['fresh'])} |"
          for k, rows in efficiency_what_if.items() for m, e in rows.items()],
    ]  # fmt: skip
    text = "\n".join(lines)
    (args.out / "simulation.md").write_text(text + "\n")
    print(text)
    import matplotlib.pyplot as plt

    from nas.reporting.plots import anytime_axes, save_figure

    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    anytime_axes(axes[0], grid, result["anytime"], "CPU spent (full-trial equivalents)", "best seed-0 AP trained to the end")
    anytime_axes(axes[1], grid, result["anytime_fresh"], "CPU spent (full-trial equivalents)", "fresh seed-1 AP of that pick")
    axes[0].legend(fontsize=8)
    fig.suptitle(f"{args.seeds} simulated searches per method, 95% interval of the mean")
    save_figure(fig, args.out / "anytime.png")


if __name__ == "__main__":
    main()
