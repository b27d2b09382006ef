"""Searchers: what proposes architectures and learns from their rewards.

Owns the controller (an LSTM policy over a space's decisions, trained with REINFORCE or PPO), the
search algorithms on Ray Tune's `Searcher` contract (`base.ArchSearcher`: suggest, learn,
save/restore), and the registry of searcher kinds: each an options schema (the Hydra `searcher`
group's node, checked by its `validate`) and a builder. Searchers write no output: the runner
records their completions. Imports `nas.core` and `search_space`; nothing above.

Adding a searcher: one module here with an `ArchSearcher` subclass (`propose`, `learn`, and its
state), its options dataclass in `options` (no torch there: config checks load it), a builder that
imports the class, and one `SEARCHER_KINDS.register` line below, plus a
`conf/searcher/<name>.yaml` starting from `base_<name>` (docs/code.md shows it).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Callable

from nas.searchers.options import ControllerConfig, ControllerOptions, EvolutionOptions, ParetoSearcherOptions, PPOOptions, RandomOptions
from search_space.errors import ConfigError
from search_space.registry import Registry

if TYPE_CHECKING:  # torch and Ray load with the first searcher built, not with the config schemas
    from nas.searchers.base import ArchSearcher
    from search_space.space import SearchSpace

Builder = Callable[..., "ArchSearcher"]  # (space, options, concurrency, **common) -> searcher


@dataclass(frozen=True)
class SearcherKind:
    """A searcher's options schema, its builder, and what it declares: `front`, for a searcher that
    learns from two objectives itself, the (metric, cost) its options make it read from each result
    (None: it learns from the scalar reward); `learns`: its proposals depend on the rewards (random
    search's do not, so no reward can mislead it); `policy`: it keeps a policy whose updates the
    report plots."""

    options: type
    build: Builder
    front: Callable[[Any], tuple[str, str]] | None = None
    learns: bool = True
    policy: bool = False


def _controller(space: SearchSpace, o: ControllerOptions, concurrency: int, **common: Any) -> ArchSearcher:
    from nas.searchers.controller_searcher import ControllerSearcher

    rule = {f.name: getattr(o, f.name) for f in fields(ControllerConfig)}
    return ControllerSearcher(
        space, ControllerConfig(**rule), batch_size=o.batch_size, reuse=o.reuse, late_batch_size=o.late_batch_size,
        late_after=o.late_after, concurrency=concurrency, algorithm=o.name, **common,
    )  # fmt: skip


def _evolution(space: SearchSpace, o: EvolutionOptions, concurrency: int, **common: Any) -> ArchSearcher:
    from nas.searchers.evolution import EvolutionSearcher

    return EvolutionSearcher(space, population=o.population, sample_size=o.sample_size, **common)


def _pareto(space: SearchSpace, o: ParetoSearcherOptions, concurrency: int, **common: Any) -> ArchSearcher:
    from nas.searchers.pareto import ParetoSearcher

    return ParetoSearcher(space, population=o.population, sample_size=o.sample_size, metric=o.metric, cost=o.cost, **common)


def _random(space: SearchSpace, o: RandomOptions, concurrency: int, **common: Any) -> ArchSearcher:
    from nas.searchers.random_search import RandomSearcher

    return RandomSearcher(space, **common)


SEARCHER_KINDS: Registry[SearcherKind] = Registry("searcher")
_KINDS: tuple[tuple[str, SearcherKind], ...] = (
    ("reinforce", SearcherKind(ControllerOptions, _controller, policy=True)),
    ("ppo", SearcherKind(PPOOptions, _controller, policy=True)),
    ("evolution", SearcherKind(EvolutionOptions, _evolution)),
    ("random", SearcherKind(RandomOptions, _random, learns=False)),
    ("pareto", SearcherKind(ParetoSearcherOptions, _pareto, front=lambda o: (o.metric, o.cost))),
)


def _constant(kind: SearcherKind) -> Callable[[], SearcherKind]:
    return lambda: kind


for _name, _kind in _KINDS:
    SEARCHER_KINDS.register(_name, _constant(_kind))
SEARCHERS = tuple(SEARCHER_KINDS.names())


def searcher_options(name: str, options: dict[str, Any] | None = None) -> Any:
    """Searcher `name`'s options schema filled from a plain dict (scripts and tests; a search gets
    its options typed by Hydra), checked: an unknown key or a bad value raises `ConfigError`."""
    schema = SEARCHER_KINDS.get(name).options
    valid = [f.name for f in fields(schema) if f.name != "name"]
    unknown = sorted(set(options or {}) - set(valid))
    if unknown:
        raise ConfigError(f"unknown config key 'searcher.{unknown[0]}' (searcher {name}'s keys: {', '.join(valid) or 'none'})")
    typed = schema(name=name, **(options or {}))
    try:
        typed.validate()
    except ValueError as e:
        raise ConfigError(str(e)) from None
    return typed


def make_searcher(options: Any, space: SearchSpace, concurrency: int = 1, **common: Any) -> ArchSearcher:
    """Build the searcher `options.name` names from its checked, typed `options`.

    `concurrency` is how many trials run at once (`max_concurrent`): the controller searchers wait
    for at least half that many completions per update (see `ControllerSearcher`).
    """
    return SEARCHER_KINDS.get(options.name).build(space, options, concurrency, **common)


__all__ = [
    "ArchSearcher", "Completion", "ControllerOptions", "ControllerSearcher", "EvolutionOptions", "EvolutionSearcher", "PPOOptions",
    "ParetoSearcher", "ParetoSearcherOptions",
    "Proposal", "RandomOptions", "RandomSearcher", "SEARCHERS", "SEARCHER_KINDS", "make_searcher", "searcher_options",
]  # fmt: skip


_LAZY = {
    "ArchSearcher": "base", "Completion": "base", "Proposal": "base", "ControllerSearcher": "controller_searcher",
    "EvolutionSearcher": "evolution", "RandomSearcher": "random_search", "ParetoSearcher": "pareto",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    """The searcher classes load (with torch and Ray) when first asked for."""
    if name not in _LAZY:
        raise AttributeError(f"module 'nas.searchers' has no attribute {name!r}")
    return getattr(importlib.import_module(f"nas.searchers.{_LAZY[name]}"), name)
