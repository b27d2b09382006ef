"""Searchers over SpineNAS spaces, all implementing Ray Tune's Searcher contract.

Each kind has its options schema (the Hydra `searcher` group, registered in Hydra's ConfigStore by
`nas.config`) and a builder; `make_searcher` checks the options against the schema, naming a wrong key.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Callable, Optional

from nas.controller import ControllerConfig
from nas.searchers.base import ArchSearcher, Completion, Proposal
from nas.searchers.controller_searcher import ControllerSearcher
from nas.searchers.evolution import EvolutionSearcher
from nas.searchers.random_search import RandomSearcher
from search_space.errors import ConfigError
from search_space.registry import Registry
from search_space.space import SearchSpace


@dataclass
class ControllerOptions(ControllerConfig):
    """`searcher=reinforce|ppo`: the controller's settings and how completions are batched into
    policy updates (`batch_size` per update, `late_batch_size` after `late_after` completions, each
    update also re-learning the last `reuse` completions). Defaults: REINFORCE's (docs/search.md)."""

    name: str = "reinforce"
    batch_size: int = 2
    late_batch_size: Optional[int] = 8  # None: batch_size throughout
    late_after: int = 64
    reuse: int = 16


@dataclass
class PPOOptions(ControllerOptions):
    """`searcher=ppo`: the same controller trained with clipped PPO on each batch of completions;
    a smaller learning rate, a small entropy bonus, a fixed batch and no re-use."""

    name: str = "ppo"
    batch_size: int = 4
    late_batch_size: Optional[int] = None
    late_after: int = 0
    reuse: int = 0
    lr: float = 0.001
    entropy_weight: float = 0.001
    tanh_constant: Optional[float] = 2.5


@dataclass
class EvolutionOptions:
    """`searcher=evolution`: regularized evolution's population and tournament size."""

    name: str = "evolution"
    population: int = 20
    sample_size: int = 5


@dataclass
class RandomOptions:
    """`searcher=random`: no options."""

    name: str = "random"


Builder = Callable[..., ArchSearcher]  # (space, options, concurrency, **common) -> searcher


@dataclass(frozen=True)
class SearcherKind:
    """A searcher's options schema and its builder."""

    options: type
    build: Builder


def _controller(space: SearchSpace, o: ControllerOptions, concurrency: int, **common: Any) -> ArchSearcher:
    rule = {f.name: getattr(o, f.name) for f in fields(ControllerConfig)}
    return ControllerSearcher(
        space, ControllerConfig(**rule), batch_size=o.batch_size, reuse=o.reuse, late_batch_size=o.late_batch_size,
        late_after=o.late_after, concurrency=concurrency, algorithm=o.name, **common,
    )  # fmt: skip


def _evolution(space: SearchSpace, o: EvolutionOptions, concurrency: int, **common: Any) -> ArchSearcher:
    return EvolutionSearcher(space, population=o.population, sample_size=o.sample_size, **common)


def _random(space: SearchSpace, o: RandomOptions, concurrency: int, **common: Any) -> ArchSearcher:
    return RandomSearcher(space, **common)


SEARCHER_KINDS: Registry[SearcherKind] = Registry("searcher")
for _name, _kind in (
    ("reinforce", SearcherKind(ControllerOptions, _controller)),
    ("ppo", SearcherKind(PPOOptions, _controller)),
    ("evolution", SearcherKind(EvolutionOptions, _evolution)),
    ("random", SearcherKind(RandomOptions, _random)),
):
    SEARCHER_KINDS.register(_name, lambda k=_kind: k)
SEARCHERS = tuple(SEARCHER_KINDS.names())


def searcher_options(name: str, options: dict[str, Any]) -> Any:
    """`options` (the `searcher` group minus `name`) as searcher `name`'s schema; a key the
    schema does not have raises `ConfigError` naming it and listing the valid ones."""
    schema = SEARCHER_KINDS.get(name).options
    valid = [f.name for f in fields(schema) if f.name != "name"]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise ConfigError(f"unknown config key 'searcher.{unknown[0]}' (searcher {name}'s keys: {', '.join(valid) or 'none'})")
    return schema(name=name, **options)


def make_searcher(name: str, space: SearchSpace, options: dict[str, Any], concurrency: int = 1, **common: Any) -> ArchSearcher:
    """Build searcher `name` with its `options` (the Hydra `searcher` group minus `name`; keys left
    out take the schema's defaults).

    `concurrency` is how many trials run at once (`max_concurrent`): the controller searchers wait
    for at least half that many completions per update (see `ControllerSearcher`).
    """
    kind = SEARCHER_KINDS.get(name)
    return kind.build(space, searcher_options(name, options), concurrency, **common)


__all__ = [
    "ArchSearcher", "Completion", "ControllerOptions", "ControllerSearcher", "EvolutionOptions", "EvolutionSearcher", "PPOOptions",
    "Proposal", "RandomOptions", "RandomSearcher", "SEARCHERS", "SEARCHER_KINDS", "make_searcher", "searcher_options",
]  # fmt: skip
