"""Controller cost on CPU: time to sample one architecture and to apply one update, and the
searcher's whole cost per trial with the shipped defaults (suggest + on_trial_complete, updates and
re-use of the last 16 completions included), against issue 10's budget of 5% of a 2 s trial.

Run: .venv/bin/python benchmarks/controller_cost.py   (R0-SP53 with block adjustments: 70 decisions)
"""

from __future__ import annotations

import json
import statistics
import time

from omegaconf import OmegaConf

from nas.settings.schemas import compose
from nas.searchers.controller import Controller, ControllerConfig
from nas.searchers import make_searcher, searcher_options
from search_space import get_space


def main() -> None:
    space = get_space("r0_sp53", block_adjustments=True)
    out = {"space": "r0_sp53+adjustments", "decisions": len(space.decisions)}
    for algorithm in ("reinforce", "ppo"):
        c = Controller(space, ControllerConfig(), seed=0, algorithm=algorithm)
        c.sample()  # warm-up
        times = []
        for _ in range(50):
            t = time.perf_counter()
            c.sample()
            times.append(time.perf_counter() - t)
        out[f"{algorithm}_sample_ms"] = round(1000 * statistics.median(times), 2)
        for batch in (1, 4, 16):
            samples = [c.sample() for _ in range(batch)]
            ts = []
            for k in range(10):
                t = time.perf_counter()
                c.update([(s, 0.1 * k) for s in samples])
                ts.append(time.perf_counter() - t)
            out[f"{algorithm}_update_batch{batch}_ms"] = round(1000 * statistics.median(ts), 2)
    out.update(per_trial())
    print(json.dumps(out))


def per_trial(trials: int = 256) -> dict[str, float]:
    """Searcher time per trial over `trials` sequential completions, shipped REINFORCE/PPO defaults."""
    space = get_space("r0_sp53", block_adjustments=True)
    out = {}
    for name in ("reinforce", "ppo"):
        opts = OmegaConf.to_container(compose("search", [f"searcher={name}"]).searcher)
        opts.pop("name")
        searcher = make_searcher(searcher_options(name, opts), space, seed=0, dedup=False)
        t = time.perf_counter()
        for k in range(trials):
            searcher.suggest(str(k))
            searcher.on_trial_complete(str(k), {"reward": 0.5 + 0.001 * (k % 17)})
        ms = 1000 * (time.perf_counter() - t) / trials
        out[f"{name}_per_trial_ms"] = round(ms, 2)
        out[f"{name}_share_of_2s_trial_pct"] = round(ms / 20, 2)
    return out


if __name__ == "__main__":
    main()
