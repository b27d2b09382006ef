"""Joined evaluators: what adds a metric to every trial's when the reward's objectives need it.

A reward may trade its metric against a cost the proxy does not measure (`latency_ms`). A joined
kind declares the metrics it provides, the config group its options live in (the `latency` group,
its own schema), and its builder; settings look a needed cost up here by the metric's name, build
the kind once on the driver (`prepare` readies it: a latency table is read or calibrated) and the
runner adds its metrics to each evaluation's before the reward is computed. Nothing else asks for a
joined evaluator by name.

Adding one (energy, say): an options dataclass with `validate()`, a class with the `Evaluator`
protocol's methods whose `evaluate` returns the declared metrics, and one `@joined_kind` line. Its
group is a config group from then on (`nas.settings.schemas.search_schema`), with the options'
defaults; a `conf/<group>/` file is needed only to offer named choices, as `latency: cpu|cuda`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

from nas.evaluators.base import TrialContext
from nas.evaluators.latency import LatencyEvaluator, LatencyOptions
from search_space.registry import Registry
from search_space.spec import Architecture


class JoinedEvaluator(Protocol):
    """What a joined evaluator does: get ready on the driver before Ray starts (`check`: read a
    table, refuse a device this machine lacks) and add its metrics to a trial's (`evaluate`)."""

    def check(self) -> None: ...

    def evaluate(self, arch: Architecture, ctx: TrialContext | None = None) -> dict[str, Any]: ...


Builder = Callable[[Any, str, Any], JoinedEvaluator]


@dataclass(frozen=True)
class JoinedKind:
    """A joined evaluator's declarations: the metrics it `provides`, the config `group` of its
    options (typed by `options`), and `build(options, preset_name, space) -> JoinedEvaluator`."""

    provides: tuple[str, ...]
    group: str
    options: type
    build: Builder


JOINED: Registry[JoinedKind] = Registry("joined evaluator")


def joined_kind(name: str, provides: tuple[str, ...], group: str, options: type) -> Callable[[Builder], Builder]:
    """Register the decorated builder as the joined kind `name` (next to the class it builds)."""

    def register(build: Builder) -> Builder:
        JOINED.register(name, lambda: JoinedKind(provides, group, options, build))
        return build

    return register


def provider_of(metric: str) -> str | None:
    """The joined kind that provides `metric` (None: none does)."""
    return next((name for name in JOINED if metric in JOINED.get(name).provides), None)


def joined_groups() -> dict[str, type]:
    """Each joined kind's config group and its options schema."""
    return {JOINED.get(name).group: JOINED.get(name).options for name in JOINED}


@joined_kind("latency", provides=("latency_ms",), group="latency", options=LatencyOptions)
def _latency(options: LatencyOptions, preset: str, space: Any) -> JoinedEvaluator:
    return LatencyEvaluator(options, preset, space)


__all__ = ["JOINED", "JoinedEvaluator", "JoinedKind", "joined_groups", "joined_kind", "provider_of"]
