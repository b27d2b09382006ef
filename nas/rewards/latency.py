"""Latency-aware rewards: a MnasNet budget on measured or predicted latency, and the Pareto mode.

Both read `latency_ms` from the trial's metrics: the latency of the full-size model on the target
device, which the search's `latency` settings add to every trial (`nas.evaluators.latency`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from omegaconf import MISSING

from nas.core.objectives import Objective
from nas.rewards.base import budget_factor, check_budget_kind, metric_value

LATENCY = "latency_ms"


@dataclass
class LatencyBudgetOptions:
    """`reward=latency_budget reward.target_ms=T`: reward = metric x (latency / T) ** w, with
    w = `weight` (soft, MnasNet's -0.07) or, `kind=hard`, 0 within T and -1 over it."""

    name: str = "latency_budget"
    metric: str = "AP"
    target_ms: float = MISSING
    weight: float = -0.07
    kind: str = "soft"
    ref_ms: Optional[float] = None  # the front's hypervolume reference (None: 1.1 x the slowest trial)

    def validate(self) -> None:
        check_budget_kind(self.kind)
        if not self.target_ms > 0:
            raise ValueError(f"reward.target_ms must be > 0, got {self.target_ms}")
        _check_ref(self.ref_ms)


@dataclass
class ParetoOptions:
    """`reward=pareto searcher=pareto`: the search's answer is the front of (metric, latency).

    The non-dominated-sorting searcher learns from both objectives; the scalar `reward` (what
    best.yaml and the progress plot use) is the metric, times (latency / ref_ms) ** `weight` when
    a weight is set (0: the metric alone). `ref_ms` is the hypervolume's reference latency (None:
    1.1 x the slowest finished trial; give one to compare searches)."""

    name: str = "pareto"
    metric: str = "AP"
    ref_ms: Optional[float] = None
    weight: float = 0.0

    def validate(self) -> None:
        _check_ref(self.ref_ms)
        if self.weight != 0.0 and self.ref_ms is None:
            raise ValueError("reward.weight needs reward.ref_ms (the latency the weight is relative to)")


def _check_ref(ref_ms: Optional[float]) -> None:
    if ref_ms is not None and not ref_ms > 0:
        raise ValueError(f"reward.ref_ms must be > 0, got {ref_ms}")


def budget_objectives(o: LatencyBudgetOptions) -> tuple[Objective, ...]:
    """The metric and the latency, both in the scalar reward."""
    return Objective(o.metric), Objective(LATENCY, "min")


def front_objectives(o: ParetoOptions) -> tuple[Objective, ...]:
    """The metric and the latency; the scalar carries the latency only when a weight is set."""
    return Objective(o.metric), Objective(LATENCY, "min", in_reward=o.weight != 0.0)


def latency_of(metrics: Mapping[str, Any]) -> float:
    """The trial's latency, NaN when missing."""
    value = metrics.get(LATENCY)
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) and value > 0 else math.nan


def latency_budget_reward(metrics: Mapping[str, Any], o: LatencyBudgetOptions) -> float:
    """The metric times MnasNet's latency term; NaN without the metric or the latency."""
    latency = latency_of(metrics)
    if math.isnan(latency):
        return math.nan
    return metric_value(metrics, o.metric) * budget_factor(latency, o.target_ms, o.weight, o.kind)


def _pareto_factor(latency_ms: float, o: ParetoOptions) -> float:
    """The soft latency term of a weighted Pareto reward (1 without a weight)."""
    return 1.0 if o.weight == 0.0 else budget_factor(latency_ms, o.ref_ms, o.weight, "soft")  # type: ignore[arg-type]


def pareto_reward(metrics: Mapping[str, Any], o: ParetoOptions) -> float:
    """The metric (times the soft latency term when `weight` is set); NaN without a latency."""
    latency = latency_of(metrics)
    if math.isnan(latency):
        return math.nan
    return metric_value(metrics, o.metric) * _pareto_factor(latency, o)
