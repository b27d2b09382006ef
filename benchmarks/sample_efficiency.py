"""Sample efficiency of the searchers on the surrogate proxy (no training), in order or concurrent.

Reward = the surrogate's score against a target architecture in R0-SP53 with block adjustments
(SpineNet-49, or `sample:K`, the space's sample at seed 10,000 + K), plus Gaussian noise (--noise) like a
real proxy's seed noise. "Reached" and "best" use the noise-free score of each trained
architecture, since the searchers only see the noisy one.

--concurrency K simulates K workers on a virtual clock: trial durations vary by +-50% per
architecture (`duration_spread`), a new trial is suggested whenever one completes, and results
arrive out of order, exactly as Ray Tune calls the Searcher (suggest / on_trial_complete); K = 1 is
a sequential search. For REINFORCE the script also checks that every completion was learnt from
exactly once (the update batches plus what waits in the buffer add up to the completions).

Run: .venv/bin/python benchmarks/sample_efficiency.py --budget 600 --seeds 0 1 2 \
         --targets spinenet49 sample:1 sample:2 sample:3 --noise 0.02 --concurrency 1 8 32 \
         --plot docs/images/sample_efficiency.png
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import statistics
from pathlib import Path
from typing import Any, Callable

from omegaconf import OmegaConf

from nas.settings.schemas import compose
from nas.reporting.plots import save_figure
from nas.searchers import make_searcher, searcher_options
from proxy_tasks.surrogate import SurrogateConfig, SurrogateTask
from search_space import get_space
from search_space.catalog import resolve_architecture

SPACE = get_space("r0_sp53", block_adjustments=True)
TARGET_SEED_OFFSET = 10_000  # `sample:K` is the space's sample at seed 10,000 + K


def make_task(target: str, noise: float, score: str, seed: int) -> SurrogateTask:
    """A surrogate for `target` (catalog name or `sample:K`), with trials of 1 +- 0.5 virtual seconds."""
    task = SurrogateTask(SurrogateConfig(noise=noise, seed=seed, score=score, duration_s=1.0, duration_spread=0.5))
    if target.startswith("sample:"):  # seeds far from the searchers' own, which sample the space too
        task.target = SPACE.sample(TARGET_SEED_OFFSET + int(target.split(":")[1]))
    else:
        task.target = resolve_architecture(target)
    return task


SCREEN = {"candidates": 256, "warmup": 8, "kappa": 1.0}  # `<searcher>+screen`: nas.screening.screen.PredictorScreen with these


def searcher_of(base: str, seed: int, concurrency: int) -> Any:
    """The searcher kind `base` with its conf/searcher/ defaults (no dedup: every trial trains)."""
    opts = OmegaConf.to_container(compose("search", [f"searcher={base}"]).searcher)
    opts.pop("name")
    return make_searcher(searcher_options(base, opts), SPACE, concurrency=concurrency, seed=seed, dedup=False)


def on_virtual_clock(stage: Any, budget: int, concurrency: int, duration: Callable[[Any], float], evaluate: Callable[[Any], tuple[float, Any]]) -> list[Any]:
    """`budget` trials of `stage` (a searcher behind its screen) called as Ray Tune calls a searcher
    (suggest / on_trial_complete), `concurrency` at a time on a virtual clock: a trial takes
    `duration(arch)` (drawn when it starts), a new one is suggested whenever one completes, results
    arrive out of order. `evaluate(arch)` (called when it completes) gives (reward, record); the
    records in completion order."""
    running: list[tuple[float, int, str, Any]] = []  # (finish time, order, trial id, architecture)
    suggested, now, records = 0, 0.0, []
    space = stage.searcher.space

    def launch() -> None:
        nonlocal suggested
        trial_id = str(suggested)
        arch = space.decode(stage.suggest(trial_id)["actions"])
        heapq.heappush(running, (now + duration(arch), suggested, trial_id, arch))
        suggested += 1

    for _ in range(min(concurrency, budget)):
        launch()
    while running:
        now, _, trial_id, arch = heapq.heappop(running)
        reward, record = evaluate(arch)
        stage.on_trial_complete(trial_id, {"reward": reward})
        records.append(record)
        if suggested < budget:
            launch()
    return records


def run(name: str, seed: int, budget: int, task: SurrogateTask, concurrency: int) -> list[float]:
    """Noise-free scores of the architectures in completion order, for one search. A name ending in
    `+screen` runs that searcher with the predictor screen between it and the (virtual) runner."""
    from nas.runner.screened import ScreenedSearcher
    from nas.screening.screen import PredictorScreen

    base, screened = name.removesuffix("+screen"), name.endswith("+screen")
    searcher = searcher_of(base, seed, concurrency)
    stage = ScreenedSearcher(searcher, PredictorScreen(SPACE, seed=seed, **SCREEN) if screened else None)

    def evaluate(arch: Any) -> tuple[float, float]:
        result = task.evaluate(arch)
        return result["AP"], float(result["match"])

    scores = on_virtual_clock(stage, budget, concurrency, task.duration, evaluate)
    if hasattr(searcher, "buffer"):  # a policy searcher: every completion learnt once, in an update or still waiting
        learnt = sum(int(h.get("batch", 0)) for h in searcher.history) + len(searcher.buffer)
        assert learnt == budget, (learnt, budget)
    return scores


def reached(scores: list[float], threshold: float) -> int | None:
    return next((i + 1 for i, s in enumerate(scores) if s >= threshold), None)


def best_so_far(scores: list[float]) -> list[float]:
    return list(itertools.accumulate(scores, max))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=int, default=600)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--threshold", type=float, default=0.9)
    ap.add_argument("--searchers", nargs="+", default=["reinforce", "ppo", "evolution", "random"])
    ap.add_argument("--targets", nargs="+", default=["spinenet49"])
    ap.add_argument("--noise", type=float, default=0.0)
    ap.add_argument("--score", default="positional", choices=["positional", "joint"])
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1])
    ap.add_argument("--plot", type=Path, default=None, help="best-so-far curves (first target, first concurrency)")
    ap.add_argument("--screen-candidates", type=int, default=SCREEN["candidates"], help="proposals the screen scores per trial (`<searcher>+screen`)")
    ap.add_argument("--screen-warmup", type=int, default=SCREEN["warmup"], help="trials before the screen starts choosing")
    args = ap.parse_args()
    SCREEN.update(candidates=args.screen_candidates, warmup=args.screen_warmup)

    print(f"budget {args.budget}, noise {args.noise}, score {args.score}, threshold {args.threshold}")
    print(f"| searcher | target | workers | trials to >= {args.threshold} (per seed) | best at {args.budget} (mean) | per seed |")
    print("|---|---|---|---|---|---|")
    curves: dict[str, list[list[float]]] = {}
    for target in args.targets:
        for concurrency in args.concurrency:
            for name in args.searchers:
                runs = [run(name, seed, args.budget, make_task(target, args.noise, args.score, seed), concurrency) for seed in args.seeds]
                hits = [reached(s, args.threshold) for s in runs]
                bests = [max(s) for s in runs]
                shown = ", ".join(str(h) if h else f">{args.budget}" for h in hits)
                print(f"| {name} | {target} | {concurrency} | {shown} | {statistics.mean(bests):.3f} | {', '.join(f'{b:.3f}' for b in bests)} |", flush=True)
                record = {"searcher": name, "target": target, "workers": concurrency, "noise": args.noise, "score": args.score, "reached": hits, "best": bests}
                print(json.dumps(record), flush=True)
                if target == args.targets[0] and concurrency == args.concurrency[0]:
                    curves[name] = [best_so_far(s) for s in runs]
    if args.plot:
        plot(curves, args.plot, f"target {args.targets[0]}, noise {args.noise}, {args.concurrency[0]} worker(s)")


def plot(curves: dict[str, list[list[float]]], path: Path, title: str) -> None:
    """Best noise-free score so far per searcher: mean over seeds (line) and the seeds' range (band)."""
    import matplotlib.pyplot as plt

    colours = {"reinforce": "#4c72b0", "ppo": "#dd8452", "evolution": "#55a868", "random": "#8c8c8c", "reinforce+screen": "#c44e52", "random+screen": "#8172b2"}
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, runs in curves.items():
        xs = range(1, len(runs[0]) + 1)
        mean = [statistics.mean(v) for v in zip(*runs)]
        ax.plot(xs, mean, color=colours.get(name), label=name)
        ax.fill_between(xs, [min(v) for v in zip(*runs)], [max(v) for v in zip(*runs)], color=colours.get(name), alpha=0.15)
    ax.axhline(0.9, color="#dddddd", lw=0.8, zorder=0)
    ax.set_xlabel("trials completed")
    ax.set_ylabel("best score so far (noise-free)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8, frameon=False)
    save_figure(fig, path)


if __name__ == "__main__":
    main()
