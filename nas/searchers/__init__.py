"""Searchers over SpineNAS spaces, all implementing Ray Tune's Searcher contract."""

from __future__ import annotations

from typing import Any

from nas.controller import ControllerConfig
from nas.searchers.base import ArchSearcher, Completion, Proposal
from nas.searchers.controller_searcher import ControllerSearcher
from nas.searchers.evolution import EvolutionSearcher
from nas.searchers.random_search import RandomSearcher
from search_space.space import SearchSpace

SEARCHERS = ("reinforce", "ppo", "evolution", "random")


def make_searcher(name: str, space: SearchSpace, options: dict[str, Any], concurrency: int = 1, **common: Any) -> ArchSearcher:
    """Build searcher `name` with its `options` (the Hydra `searcher` group minus `name`).

    `concurrency` is how many trials run at once (`max_concurrent`): the controller searchers wait
    for at least half that many completions per update (see `ControllerSearcher`).
    """
    options = dict(options)
    if name in ("reinforce", "ppo"):
        batching = {k: options.pop(k) for k in ("batch_size", "reuse", "late_batch_size", "late_after") if k in options}
        cfg = ControllerConfig(algorithm=name, **options)
        return ControllerSearcher(space, cfg, concurrency=concurrency, **batching, **common)
    if name == "evolution":
        return EvolutionSearcher(space, **options, **common)
    if name == "random":
        if options:
            raise ValueError(f"searcher random takes no options, got {sorted(options)}")
        return RandomSearcher(space, **common)
    raise KeyError(f"unknown searcher {name!r}; valid: {', '.join(SEARCHERS)}")


__all__ = ["ArchSearcher", "Completion", "ControllerSearcher", "EvolutionSearcher", "Proposal", "RandomSearcher", "SEARCHERS", "make_searcher"]
