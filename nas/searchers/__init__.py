"""Searchers: what proposes architectures and learns from their rewards.

Owns the controller (an LSTM policy over a space's decisions, trained with REINFORCE or PPO), the
search algorithms on Ray Tune's `Searcher` contract (`base.ArchSearcher`: suggest, learn,
save/restore), and the registry of searcher kinds: each an options schema (the Hydra `searcher`
group's node, checked by its `validate`) and a builder. Searchers write no output: the runner
records their completions. Imports `nas.core` and `search_space`; nothing above.

Adding a searcher: one module here with an `ArchSearcher` subclass (`propose`, `learn`, and its
state), its options dataclass and builder, and one `SEARCHER_KINDS.register` line below, plus a
`conf/searcher/<name>.yaml` starting from `base_<name>` (docs/architecture.md shows it).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Callable, Optional

from nas.searchers.base import ArchSearcher, Completion, Proposal
from nas.searchers.controller import ControllerConfig
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

    def validate(self) -> None:
        """Raise `ValueError` naming the key for values no controller can use."""
        late = self.late_batch_size or self.batch_size
        if min(self.batch_size, late) < 1 or self.reuse < 0 or self.late_after < 0:
            raise ValueError(
                f"searcher.batch_size and searcher.late_batch_size must be >= 1, searcher.reuse and searcher.late_after >= 0; "
                f"got {self.batch_size}, {self.late_batch_size}, {self.reuse}, {self.late_after}"
            )


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

    def validate(self) -> None:
        if not 1 <= self.sample_size <= self.population:
            raise ValueError(f"searcher.sample_size must be between 1 and searcher.population, got {self.sample_size} and {self.population}")


@dataclass
class RandomOptions:
    """`searcher=random`: no options."""

    name: str = "random"

    def validate(self) -> None:
        pass


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
    "Proposal", "RandomOptions", "RandomSearcher", "SEARCHERS", "SEARCHER_KINDS", "make_searcher", "searcher_options",
]  # fmt: skip
