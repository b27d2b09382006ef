"""The default reward: a metric (COCO AP), times a MnasNet-style compute cost term when a target is set."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from nas.core.objectives import Objective
from nas.rewards.base import budget_factor, check_budget_kind, metric_value


@dataclass
class RewardConfig:
    """`reward=ap|flops_budget`: reward = metric x (cost / target) ** w, with w = weight (soft) or,
    hard, 0 within budget and -1 over. With no target the reward is the metric itself (AP by default)."""

    name: str = "mnas"
    metric: str = "AP"
    target_flops: Optional[float] = None
    target_params: Optional[float] = None
    weight: float = -0.07
    kind: str = "soft"

    def validate(self) -> None:
        """Raise `ValueError` naming the key for settings no reward could use."""
        check_budget_kind(self.kind)
        if self.target_flops is not None and self.target_params is not None:
            raise ValueError("set reward.target_flops or reward.target_params, not both")


def mnas_objectives(cfg: RewardConfig) -> tuple[Objective, ...]:
    """The metric, and the cost the target is set for (in the scalar; none without a target)."""
    cost = "flops" if cfg.target_flops is not None else "params" if cfg.target_params is not None else None
    return (Objective(cfg.metric),) + ((Objective(cost, "min"),) if cost else ())


def mnas_reward(metrics: Mapping[str, Any], cfg: RewardConfig) -> float:
    """The metric, times (cost / target) ** w when a FLOPs or params target is set; NaN without the metric."""
    value = metric_value(metrics, cfg.metric)
    if cfg.target_flops is not None:
        return value * budget_factor(float(metrics["flops"]), cfg.target_flops, cfg.weight, cfg.kind)
    if cfg.target_params is not None:
        return value * budget_factor(float(metrics["params"]), cfg.target_params, cfg.weight, cfg.kind)
    return value
