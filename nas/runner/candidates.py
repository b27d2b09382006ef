"""Which architectures a planned campaign trains: the anchors, and samples of the space either
spread over its FLOPs range (`spinenas fidelity`, proxy-design) or drawn uniformly (`spinenas table`)."""

from __future__ import annotations

import numpy as np

from nas.runner.planned import Candidate, anchors_and_flops
from nas.settings.search import SearchSettings
from search_space.errors import ConfigError
from search_space.spec import Architecture

POOL_PER_ARCH = 8  # candidates drawn per architecture chosen, to spread the choice over the FLOPs range
MAX_DRAWS_PER_ARCH = 50  # draws tried per distinct architecture before a small space is called exhausted


def choose_candidates(settings: SearchSettings, n: int) -> list[Candidate]:
    """`n` samples of the space spread evenly over its proxy FLOPs range, then the anchors.

    Deterministic for a config: the pool is `POOL_PER_ARCH * n` draws seeded by `seed`; the chosen
    ones sit at evenly spaced ranks of the pool's FLOPs (the cheapest and the dearest included).
    """
    space = settings.space
    anchors, flops = anchors_and_flops(settings)
    taken = {a.arch.id for a in anchors}
    rng = np.random.default_rng(settings.top.seed)
    pool: dict[str, Architecture] = {}
    for _ in range(POOL_PER_ARCH * n):
        arch = space.sample(rng)
        if arch.id not in taken:
            pool.setdefault(arch.id, arch)
    if len(pool) < n:
        raise ConfigError(f"space {space.name} gave only {len(pool)} distinct architectures in {POOL_PER_ARCH * n} draws; ask for fewer --archs")
    costed = sorted(((flops(a), a.id, a) for a in pool.values()), key=lambda t: (t[0], t[1]))
    picks = np.unique(np.round(np.linspace(0, len(costed) - 1, n)).astype(int))
    sampled = [Candidate(f"sample{k:02d}", "sampled", costed[i][2], costed[i][0]) for k, i in enumerate(picks)]
    return sampled + anchors


def uniform_candidates(settings: SearchSettings, n: int) -> list[Candidate]:
    """The anchors, then the first `n` distinct architectures drawn from the space with `seed`."""
    space = settings.space
    anchors, flops = anchors_and_flops(settings)
    taken = {c.arch.id for c in anchors}
    rng = np.random.default_rng(settings.top.seed)
    sampled: list[Candidate] = []
    for _ in range(MAX_DRAWS_PER_ARCH * n):
        if len(sampled) == n:
            break
        arch = space.sample(rng)
        if arch.id not in taken:
            taken.add(arch.id)
            sampled.append(Candidate(f"u{len(sampled):03d}", "sampled", arch, flops(arch)))
    if len(sampled) < n:
        raise ConfigError(f"space {space.name} gave only {len(sampled)} distinct architectures in {MAX_DRAWS_PER_ARCH * n} draws; ask for fewer --archs")
    return anchors + sampled
