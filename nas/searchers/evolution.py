"""Regularized evolution (Real et al. 2019): tournament selection, one mutation, oldest dies."""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
import torch

from nas.searchers.base import ArchSearcher, Completion, Proposal
from search_space.space import SearchSpace


def mutate(space: SearchSpace, actions: list[int], rng: np.random.Generator) -> list[int]:
    """Change one decision to another valid choice; later decisions keep their value where still valid."""
    while True:
        t = int(rng.integers(len(actions)))
        walk = space.walk()
        for a in actions[:t]:
            walk.step(a)
        options = [a for a in np.flatnonzero(walk.mask()) if a != actions[t]]
        if options:
            break
    out = list(actions[:t]) + [int(rng.choice(options))]
    walk.step(out[-1])
    for a in actions[t + 1 :]:
        mask = walk.mask()
        a = a if mask[a] else int(rng.choice(np.flatnonzero(mask)))
        walk.step(a)
        out.append(a)
    return out


class EvolutionSearcher(ArchSearcher):
    """Random architectures until the population is full, then mutants of tournament winners."""

    name = "evolution"

    def __init__(self, space: SearchSpace, population: int = 20, sample_size: int = 5, **kwargs: Any) -> None:
        super().__init__(space, **kwargs)
        self.population_size, self.sample_size = population, sample_size
        self.population: deque[tuple[list[int], float]] = deque()
        self.rng = np.random.default_rng(self.seed)

    def propose(self) -> Proposal:
        if len(self.population) < self.population_size:
            return Proposal(self.space.sample_actions(self.rng), "")
        idx = self.rng.choice(len(self.population), size=self.sample_size, replace=False)
        parent = max((self.population[i] for i in idx), key=lambda m: m[1])
        return Proposal(mutate(self.space, parent[0], self.rng), "")

    def learn(self, completion: Completion) -> None:
        self.population.append((list(completion.proposal.actions), completion.reward))
        if len(self.population) > self.population_size:
            self.population.popleft()

    def algorithm_state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        return {"rng": self.rng.bit_generator.state, "population": [[a, r] for a, r in self.population]}, {}

    def load_algorithm_state(self, meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        self.rng.bit_generator.state = meta["rng"]
        self.population = deque((list(a), float(r)) for a, r in meta["population"])
