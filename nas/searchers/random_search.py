"""Random search: a uniformly random valid choice at every decision."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from nas.searchers.base import ArchSearcher, Completion, Proposal
from search_space.space import SearchSpace


class RandomSearcher(ArchSearcher):
    """The baseline every learned searcher must beat."""

    name = "random"

    def __init__(self, space: SearchSpace, **kwargs: Any) -> None:
        super().__init__(space, **kwargs)
        self.rng = np.random.default_rng(self.seed)

    def propose(self) -> Proposal:
        return Proposal(self.space.sample_actions(self.rng), "")

    def learn(self, completion: Completion) -> None:
        pass

    def algorithm_state(self) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
        return {"rng": self.rng.bit_generator.state}, {}

    def load_algorithm_state(self, meta: dict[str, Any], tensors: dict[str, torch.Tensor]) -> None:
        self.rng.bit_generator.state = meta["rng"]
