"""Non-dominated sorting evolution: a searcher whose answer is an accuracy-latency front.

The loop of regularized evolution (a random population first, then one mutant of a tournament
winner per proposal), with NSGA-II's order (Deb et al. 2002) in place of the reward: a member ranks
by its non-dominated front over (metric up, latency down), ties broken by crowding distance, so the
tournament favours the front and its sparse stretches. The population keeps the best `population`
members in that order (elitist), so the front found is never lost to ageing. Trials that failed or
were stopped at a rung have no final metric and do not enter the population, nor do repeats of a
member.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from nas.core.pareto import crowding, nondominated_ranks
from nas.core.status import FINISHED
from nas.searchers.base import ArchSearcher, Completion, Proposal
from nas.searchers.evolution import mutate
from search_space.space import SearchSpace

Member = tuple[list[int], float, float]  # actions, cost (latency), value (metric)


def nsga_order(members: list[Member]) -> list[int]:
    """Indices of `members` best first: front rank, then larger crowding distance."""
    points = [(c, v) for _, c, v in members]
    ranks = nondominated_ranks(points)
    dist: dict[int, float] = {}
    for r in set(ranks):
        dist.update(crowding(points, [i for i, k in enumerate(ranks) if k == r]))
    return sorted(range(len(members)), key=lambda i: (ranks[i], -dist[i]))


class ParetoSearcher(ArchSearcher):
    """Random architectures until the population is full, then mutants of tournament winners by
    non-dominated rank and crowding over (`metric`, `cost`) read from each trial's result."""

    name = "pareto"

    def __init__(
        self, space: SearchSpace, population: int = 10, sample_size: int = 4, metric: str = "AP", cost: str = "latency_ms", **kwargs: Any
    ) -> None:
        super().__init__(space, **kwargs)
        self.population_size, self.sample_size = population, sample_size
        self.objectives = (metric, cost)  # not `metric`: Tune's Searcher owns that name
        self.population: list[Member] = []
        self.rng = np.random.default_rng(self.seed)

    def propose(self) -> Proposal:
        if len(self.population) < self.population_size:
            return Proposal(self.space.sample_actions(self.rng), "")
        order = nsga_order(self.population)
        position = {i: k for k, i in enumerate(order)}
        picks = self.rng.choice(len(self.population), size=self.sample_size, replace=False)
        winner = min(picks, key=lambda i: position[int(i)])
        return Proposal(mutate(self.space, self.population[int(winner)][0], self.rng), "")

    def learn(self, completion: Completion) -> None:
        if completion.status not in FINISHED:
            return
        metric, cost_key = self.objectives
        cost, value = completion.result.get(cost_key), completion.result.get(metric)
        if not all(isinstance(x, (int, float)) and math.isfinite(x) for x in (cost, value)):
            return
        if any(m[0] == completion.proposal.actions for m in self.population):
            return  # a repeat (a cached duplicate) would crowd the population with copies
        self.population.append((list(completion.proposal.actions), float(cost), max(float(value), 0.0)))  # type: ignore[arg-type]
        if len(self.population) > self.population_size:
            worst = nsga_order(self.population)[-1]
            self.population.pop(worst)

    def algorithm_state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        return {"rng": self.rng.bit_generator.state, "population": [[a, c, v] for a, c, v in self.population]}, {}

    def load_algorithm_state(self, meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        self.rng.bit_generator.state = meta["rng"]
        self.population = [(list(a), float(c), float(v)) for a, c, v in meta["population"]]
