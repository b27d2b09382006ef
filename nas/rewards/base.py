"""What every reward shares: its kind (options schema and function) and the metric it starts from."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping


def no_costs(options: Any) -> tuple[str, ...]:
    return ()


@dataclass(frozen=True)
class RewardKind:
    """A reward's options schema (a dataclass with `name`, `metric` and `validate()`), its function
    `(metrics, options) -> float` (NaN when it cannot be computed), and the model costs (`flops`,
    `params`) its options make it need, so that a search whose evaluator measures none is refused
    at start-up."""

    options: type
    compute: Callable[[Mapping[str, Any], Any], float]
    costs: Callable[[Any], tuple[str, ...]] = no_costs


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
