"""Search methods compared on a learned surrogate of the benchmark table, over many search seeds.

The table (`benchmarks/table/`) holds 150 uniform draws of the default space and its anchors, each
trained with two seeds on the built-in proxy. A model fitted on all of them (`--oracle`: the
predictor's gbr or mlp on the structural encoding, `nas.screening.predictor`) stands in for the
proxy on any architecture of the space, as NAS-Bench-301 stands in for training: a trial's reward is
the oracle's value plus Gaussian noise of the table's own seed-to-seed std (a fresh draw per trial,
as a real trial's seed noise). So methods that propose from the whole space (REINFORCE, evolution,
screened or not) can be run hundreds of times; the table itself cannot simulate them (its 150 rows
are all a method could pick from: benchmarks/table_simulation.py).

A search runs `--trials` trials two at a time (results arrive as the real local search's do, via
Tune's suggest/on_trial_complete calls, on a virtual clock); its final is the oracle's noise-free
value of the trial it would pick (best observed reward): what a fresh-seed retraining measures on
average. Compared with the search as the unit (`nas.core.search_compare`: permutation p, Holm over
the methods against random, interval), with best-so-far curves and the sample efficiency against
random (on the noise-free value of the best observed trial so far).

Caveat, stated in the output: the oracle is a smooth model on the structural features a predictor
screen also uses, so a screen learns it more easily than it would learn the proxy; the simulated
ranking of methods is a hypothesis for real runs, not a result about them.

Run: .venv/bin/python benchmarks/learned_surrogate.py --seeds 100 --out benchmarks/runs/learned-surrogate-2026-12-07
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from nas.core.search_compare import anytime, compare_searches, methods_table, sample_efficiency, versus
from nas.reporting.bench_table import per_seed_ap, read_runs
from nas.runner.screened import ScreenedSearcher
from nas.screening.predictor import Predictor
from nas.screening.screen import PredictorScreen
from predictor_curve import SPACE, load_rows
from sample_efficiency import on_virtual_clock, searcher_of
from search_space.fileio import atomic_write_text
from search_space.spec import Architecture

TABLE = Path(__file__).resolve().parent / "table"
METHODS = ("random", "reinforce", "evolution", "random+screen", "reinforce+screen", "reinforce+screen-all")


class Oracle:
    """The table's AP as a function of the architecture (noise-free), cached per architecture."""

    def __init__(self, kind: str, seed: int = 0) -> None:
        archs, ap, _ = load_rows(TABLE, SPACE)
        self.model = Predictor(SPACE, kind, seed=seed, encoding="structure").fit(archs, ap)
        runs = read_runs(TABLE / "runs.csv")
        per_seed = per_seed_ap(runs)
        self.seed_std = float((per_seed["seed0"] - per_seed["seed1"]).std() / np.sqrt(2))  # one run's noise
        self.cache: dict[str, float] = {}
        self.table_ap = ap

    def __call__(self, arch: Architecture) -> float:
        if arch.id not in self.cache:
            self.cache[arch.id] = float(self.model.predict([arch])[0][0])
        return self.cache[arch.id]


def run_search(method: str, seed: int, trials: int, oracle: Oracle, concurrency: int = 2, candidates: int = 16) -> list[tuple[float, float]]:
    """(observed reward, noise-free value) per trial in completion order, for one search."""
    base, _, screen = method.partition("+")
    # `screen`: the predictor screen, the policy learning from the trained proposal; `screen-all`: from all it scored
    teach = "all" if screen == "screen-all" else "trained"
    stage = ScreenedSearcher(searcher_of(base, seed, concurrency), PredictorScreen(SPACE, candidates=candidates, warmup=8, kappa=1.0, seed=seed, teach=teach) if screen else None)
    noise = np.random.default_rng(10_000 + seed)
    clock = np.random.default_rng(20_000 + seed)

    def evaluate(arch: Architecture) -> tuple[float, tuple[float, float]]:
        value = oracle(arch)
        observed = value + noise.normal(0.0, oracle.seed_std)
        return observed, (observed, value)

    return on_virtual_clock(stage, trials, concurrency, lambda _arch: clock.uniform(0.5, 1.5), evaluate)


def pick_value(trace: list[tuple[float, float]], upto: int) -> float:
    """The noise-free value of the best observed trial among the first `upto`."""
    head = trace[:upto]
    return max(head, key=lambda t: t[0])[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=100, help="search seeds per method")
    ap.add_argument("--trials", type=int, default=32)
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--oracle", default="gbr", choices=["gbr", "mlp"])
    ap.add_argument("--candidates", type=int, default=16, help="proposals the screen scores per trial (screen=predictor's default is 256)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    oracle = Oracle(args.oracle)
    print(f"oracle {args.oracle} on {len(oracle.table_ap)} table architectures; seed noise std {oracle.seed_std:.4f}", flush=True)
    traces: dict[str, list[list[tuple[float, float]]]] = {}  # the first --seeds searches of each method asked for
    done: dict[str, list[list[tuple[float, float]]]] = {}  # every search simulated so far, saved after each one
    seconds: dict[str, float] = {}
    saved_path = args.out / "traces.json"
    same = {k: v for k, v in vars(args).items() if k not in ("out", "methods", "seeds")}  # what makes two runs of a method the same
    if saved_path.exists():  # resumable: searches already simulated under the same settings are kept, whatever --seeds was then
        saved = json.loads(saved_path.read_text())
        if {k: v for k, v in saved.get("settings", {}).items() if k not in ("out", "methods", "seeds")} == same:
            earlier = {**saved["traces"], **saved.get("unfinished", {})}  # "unfinished": files written between 2026-12-07 19:23 and 20:00
            done = {m: [[(float(t[0]), float(t[1])) for t in s] for s in runs] for m, runs in earlier.items()}
            seconds = dict(saved["seconds"])

    def save() -> None:
        atomic_write_text(saved_path, json.dumps({"settings": same, "traces": done, "seconds": seconds}))

    for method in args.methods:
        runs = done.setdefault(method, [])
        for seed in range(len(runs), args.seeds):
            t0 = time.perf_counter()
            runs.append(run_search(method, seed, args.trials, oracle, candidates=args.candidates))
            seconds[method] = seconds.get(method, 0.0) + time.perf_counter() - t0
            save()
        traces[method] = runs[: args.seeds]
        print(f"{method}: {len(runs)} searches in {seconds.get(method, 0.0):.0f} s, mean final of the first {args.seeds} "
              f"{np.mean([pick_value(t, args.trials) for t in traces[method]]):.4f}", flush=True)
    finals = {m: [pick_value(t, args.trials) for t in traces[m]] for m in args.methods}
    comparisons = compare_searches(finals, versus(finals, "random")) if "random" in finals else {}
    grid = np.arange(1, args.trials + 1, dtype=float)
    curves = {m: [np.array([pick_value(t, k) for k in range(1, args.trials + 1)]) for t in traces[m]] for m in args.methods}
    efficiency = {m: sample_efficiency(curves[m], curves["random"], grid, at=args.trials) for m in args.methods if m != "random" and "random" in curves}
    summary = {
        "oracle": args.oracle, "oracle_on_table": len(oracle.table_ap), "seed_noise_std": oracle.seed_std,
        "table_best": float(np.max(oracle.table_ap)), "table_mean": float(np.mean(oracle.table_ap)),
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "finals": {m: {"mean": float(np.mean(v)), "std": float(np.std(v, ddof=1))} for m, v in finals.items()},
        "comparisons": comparisons, "sample_efficiency": efficiency, "seconds": seconds,
        "anytime": {m: {k: v.tolist() for k, v in anytime(c).items()} for m, c in curves.items()},
    }  # fmt: skip
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")
    lines = [
        f"{args.seeds} simulated searches of {args.trials} trials (2 at a time) per method on a learned surrogate of the table "
        f"({args.oracle} on the structural encoding, fitted on {len(oracle.table_ap)} architectures; reward = its value + N(0, {oracle.seed_std:.4f}), "
        f"the table's seed noise); final = the noise-free value of the best observed trial. Screens score {args.candidates} proposals a trial.",
        "",
        *methods_table(finals, comparisons, efficiency),
    ]
    lines += ["", "The oracle is a smooth model on the features the predictor screen uses: a screen learns it more easily than the proxy. "
              "Read the ranking as a hypothesis for real searches."]  # fmt: skip
    (args.out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
