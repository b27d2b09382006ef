"""What every reward shares: its kind (options schema and function) and the metric it starts from."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from nas.core.objectives import Objective


def metric_only(options: Any) -> tuple[Objective, ...]:
    """The objectives of a reward that is its metric: that metric, maximised."""
    return (Objective(options.metric),)


@dataclass(frozen=True)
class RewardKind:
    """A reward's options schema (a dataclass with `name`, `metric` and `validate()`), its function
    `(metrics, options) -> float` (NaN when it cannot be computed), and the objectives its options
    declare: the metric first (maximised), then every cost it trades against it (`flops`,
    `latency_ms`, ...), each saying whether the scalar reward carries it. A search whose evaluator
    measures none of a cost is refused at start-up; a cost the scalar does not carry needs a
    searcher that learns from several objectives. `front`: the search's answer is the front of its
    two objectives (ASHA keeps a rung's front too)."""

    options: type
    compute: Callable[[Mapping[str, Any], Any], float]
    objectives: Callable[[Any], tuple[Objective, ...]] = metric_only
    front: bool = False


def metric_value(metrics: Mapping[str, Any], metric: str) -> float:
    """`metrics[metric]` as a reward's starting point: NaN when missing or not finite, and COCOeval's
    -1 (no objects of a size) read as 0."""
    value = metrics.get(metric)
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return float("nan")
    return max(float(value), 0.0)


def budget_factor(cost: float, target: float, weight: float, kind: str) -> float:
    """MnasNet's cost term (Tan et al. 2019): (cost / target) ** w, with w = `weight` (soft) or,
    hard, 0 within the target and -1 over it."""
    w = weight if kind == "soft" else (0.0 if cost <= target else -1.0)
    return (cost / float(target)) ** w


def check_budget_kind(kind: str) -> None:
    """Refuse a budget form other than soft or hard, naming the key."""
    if kind not in ("soft", "hard"):
        raise ValueError(f"reward.kind must be soft or hard, got {kind!r}")
