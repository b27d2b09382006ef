"""Searchers over SpineNAS spaces, all implementing Ray Tune's Searcher contract."""

from __future__ import annotations

from typing import Any, Callable

from nas.controller import ControllerConfig
from nas.searchers.base import ArchSearcher, Completion, Proposal
from nas.searchers.controller_searcher import ControllerSearcher
from nas.searchers.evolution import EvolutionSearcher
from nas.searchers.random_search import RandomSearcher
from search_space.registry import Registry
from search_space.space import SearchSpace

Builder = Callable[..., ArchSearcher]  # (space, options, concurrency, **common) -> searcher


def _controller(name: str) -> Builder:
    def build(space: SearchSpace, options: dict[str, Any], concurrency: int, **common: Any) -> ArchSearcher:
        batching = {k: options.pop(k) for k in ("batch_size", "reuse", "late_batch_size", "late_after") if k in options}
        return ControllerSearcher(space, ControllerConfig(algorithm=name, **options), concurrency=concurrency, **batching, **common)

    return build


def _evolution(space: SearchSpace, options: dict[str, Any], concurrency: int, **common: Any) -> ArchSearcher:
    return EvolutionSearcher(space, **options, **common)


def _random(space: SearchSpace, options: dict[str, Any], concurrency: int, **common: Any) -> ArchSearcher:
    if options:
        raise ValueError(f"searcher random takes no options, got {sorted(options)}")
    return RandomSearcher(space, **common)


SEARCHER_BUILDERS: Registry[Builder] = Registry("searcher")
for _name, _build in (("reinforce", _controller("reinforce")), ("ppo", _controller("ppo")), ("evolution", _evolution), ("random", _random)):
    SEARCHER_BUILDERS.register(_name, lambda b=_build: b)
SEARCHERS = tuple(SEARCHER_BUILDERS.names())


def make_searcher(name: str, space: SearchSpace, options: dict[str, Any], concurrency: int = 1, **common: Any) -> ArchSearcher:
    """Build searcher `name` with its `options` (the Hydra `searcher` group minus `name`).

    `concurrency` is how many trials run at once (`max_concurrent`): the controller searchers wait
    for at least half that many completions per update (see `ControllerSearcher`).
    """
    return SEARCHER_BUILDERS.get(name)(space, dict(options), concurrency, **common)


__all__ = ["ArchSearcher", "Completion", "ControllerSearcher", "EvolutionSearcher", "Proposal", "RandomSearcher", "SEARCHERS", "make_searcher"]
