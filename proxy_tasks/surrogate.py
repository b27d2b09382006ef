"""A training-free proxy for dry runs and for comparing search algorithms.

The reward is the share of a target architecture's decisions that a sampled architecture matches
position by position: for every block its level, its type, each parent and whether it is an output.
`score="joint"` makes it non-separable, as real rewards are: a parent counts only when the block's
level and the parent's level also match, so a connection pays off only in the right context.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from search_space.catalog import resolve_architecture
from search_space.spec import Architecture


SCORES = ("positional", "joint")


@dataclass
class SurrogateConfig:
    """`target`: catalog name or spec file; `noise`: std of Gaussian noise added to the reward;
    `score`: positional (every decision on its own) or joint (parents count in context);
    `duration_s`: how long a trial takes (a stand-in for training), times a factor drawn uniformly
    from [1 - duration_spread, 1 + duration_spread] per architecture, so that concurrent trials
    complete out of order."""

    label: str = "surrogate"
    target: str = "spinenet49"
    noise: float = 0.0
    seed: int = 0
    score: str = "positional"
    duration_s: float = 0.0
    duration_spread: float = 0.0

    def validate(self) -> None:
        if self.score not in SCORES:
            raise ValueError(f"proxy.score must be one of {', '.join(SCORES)}, got {self.score!r}")
        if self.noise < 0 or self.duration_s < 0 or not 0 <= self.duration_spread <= 1:
            raise ValueError("proxy.noise and proxy.duration_s must be >= 0 and proxy.duration_spread in [0, 1]")


def match_share(arch: Architecture, target: Architecture) -> float:
    """Share in [0, 1] of the target's per-block decisions that `arch` repeats at the same position."""
    return _share(arch, target, joint=False)


def joint_share(arch: Architecture, target: Architecture) -> float:
    """Like `match_share`, but a parent is a hit only if the block's level, the parent's index and the
    parent's level all match the target's: the score of a connection depends on other decisions."""
    return _share(arch, target, joint=True)


def _share(arch: Architecture, target: Architecture, joint: bool) -> float:
    hits = 0
    for b, t in zip(arch.blocks, target.blocks):
        level_ok = b.level == t.level
        hits += level_ok + (b.block_fn == t.block_fn) + (b.is_output == t.is_output)
        for p, q in zip(b.parents, t.parents):
            if joint:
                hits += level_ok and p == q and arch.node_level(p) == target.node_level(q)
            else:
                hits += p == q
    return hits / (5 * len(target.blocks))


SCORE_FUNCTIONS = {"positional": match_share, "joint": joint_share}


class SurrogateTask:
    """`run(arch)` returns metrics shaped like the proxy task's, instantly."""

    def __init__(self, config: SurrogateConfig) -> None:
        config.validate()
        self.config = config
        self.target = resolve_architecture(config.target)
        self.score = SCORE_FUNCTIONS[config.score]

    def duration(self, arch: Architecture) -> float:
        """Seconds a trial of `arch` takes: drawn from (seed, architecture), like the noise."""
        c = self.config
        spread = np.random.default_rng([c.seed, int(arch.id[:12], 16), 1]).uniform(-c.duration_spread, c.duration_spread)
        return c.duration_s * (1.0 + spread)

    def run(self, arch: Architecture) -> dict[str, float | str]:
        """`evaluate` after `duration(arch)` seconds, as a trial that trains would take."""
        if self.config.duration_s > 0:
            time.sleep(self.duration(arch))
        return self.evaluate(arch)

    def evaluate(self, arch: Architecture) -> dict[str, float | str]:
        """The score plus noise drawn from (seed, architecture): the same on every worker and in any order."""
        share = self.score(arch, self.target)
        rng = np.random.default_rng([self.config.seed, int(arch.id[:12], 16)])
        noisy = share + (rng.normal(0.0, self.config.noise) if self.config.noise > 0 else 0.0)
        return {"AP": float(noisy), "match": share, "arch_id": arch.id, "arch_name": arch.name, "params": 0, "flops": 0}
