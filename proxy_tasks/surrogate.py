"""A training-free proxy for dry runs and for comparing search algorithms.

The reward is the share of a target architecture's decisions that a sampled architecture matches
position by position: for every block its level, its type, each parent and whether it is an output.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from search_space.catalog import resolve_architecture
from search_space.spec import Architecture


@dataclass
class SurrogateConfig:
    """`target`: catalog name or spec file; `noise`: std of Gaussian noise added to the reward;
    `duration_s`: how long a trial takes (a stand-in for training, for overhead measurements)."""

    name: str = "surrogate"
    target: str = "spinenet49"
    noise: float = 0.0
    seed: int = 0
    duration_s: float = 0.0


def match_share(arch: Architecture, target: Architecture) -> float:
    """Share in [0, 1] of the target's per-block decisions that `arch` repeats at the same position."""
    n = len(target.blocks)
    hits = 0
    for i, t in enumerate(target.blocks):
        if i >= len(arch.blocks):
            continue
        b = arch.blocks[i]
        hits += (b.level == t.level) + (b.block_fn == t.block_fn) + (b.is_output == t.is_output)
        hits += (b.parents[0] == t.parents[0]) + (b.parents[1] == t.parents[1])
    return hits / (5 * n)


class SurrogateTask:
    """`run(arch)` returns metrics shaped like the proxy task's, instantly."""

    def __init__(self, config: SurrogateConfig) -> None:
        self.config = config
        self.target = resolve_architecture(config.target)

    def run(self, arch: Architecture) -> dict[str, float | str]:
        """The match share plus noise drawn from (seed, architecture): the same on every worker and in any order."""
        if self.config.duration_s > 0:
            time.sleep(self.config.duration_s)
        share = match_share(arch, self.target)
        rng = np.random.default_rng([self.config.seed, int(arch.id[:12], 16)])
        noisy = share + (rng.normal(0.0, self.config.noise) if self.config.noise > 0 else 0.0)
        return {"AP": float(noisy), "match": share, "arch_id": arch.id, "arch_name": arch.name, "params": 0, "flops": 0}
