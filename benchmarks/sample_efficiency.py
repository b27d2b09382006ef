"""Sample efficiency of the searchers on the surrogate proxy (no training).

Reward = share of SpineNet-49's decisions matched position by position in R0-SP53 with block
adjustments. Trials complete in order through the same Searcher contract Tune uses.

Run: .venv/bin/python benchmarks/sample_efficiency.py --budget 1000 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import statistics

from nas.config import compose
from nas.searchers import make_searcher
from omegaconf import OmegaConf
from proxy_tasks.surrogate import SurrogateConfig, SurrogateTask
from search_space import get_space


def run(name: str, seed: int, budget: int, threshold: float) -> tuple[int | None, float]:
    space = get_space("r0_sp53", block_adjustments=True)
    task = SurrogateTask(SurrogateConfig(target="spinenet49"))
    opts = OmegaConf.to_container(compose("search", [f"searcher={name}"]).searcher)
    opts.pop("name")
    s = make_searcher(name, space, opts, seed=seed, dedup=False)
    best, reached = 0.0, None
    for i in range(budget):
        cfg = s.suggest(str(i))
        r = float(task.run(space.decode(cfg["actions"]))["AP"])
        s.on_trial_complete(str(i), {"reward": r})
        best = max(best, r)
        if reached is None and r >= threshold:
            reached = i + 1
    return reached, best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=int, default=1000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--threshold", type=float, default=0.9)
    ap.add_argument("--searchers", nargs="+", default=["reinforce", "ppo", "evolution", "random"])
    args = ap.parse_args()
    print(f"| searcher | trials to reward >= {args.threshold} (per seed) | best after {args.budget} (mean) | per seed |")
    print("|---|---|---|---|")
    for name in args.searchers:
        res = [run(name, seed, args.budget, args.threshold) for seed in args.seeds]
        reached = ", ".join(str(r) if r else f">{args.budget}" for r, _ in res)
        bests = [b for _, b in res]
        print(f"| {name} | {reached} | {statistics.mean(bests):.3f} | {', '.join(f'{b:.3f}' for b in bests)} |", flush=True)
        print(json.dumps({"searcher": name, "runs": res}), flush=True)


if __name__ == "__main__":
    main()
