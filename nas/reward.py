"""Reward of a trial: COCO AP, optionally with a MnasNet-style compute cost term."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping


@dataclass
class RewardConfig:
    """reward = metric x (cost / target) ** w, with w = weight (soft) or, hard, 0 within budget and -1 over.

    With no target the reward is the metric itself (AP by default).
    """

    metric: str = "AP"
    target_flops: float | None = None
    target_params: float | None = None
    weight: float = -0.07
    kind: str = "soft"

    def __post_init__(self) -> None:
        if self.kind not in ("soft", "hard"):
            raise ValueError(f"reward.kind must be soft or hard, got {self.kind!r}")
        if self.target_flops is not None and self.target_params is not None:
            raise ValueError("set reward.target_flops or reward.target_params, not both")


def compute_reward(metrics: Mapping[str, Any], cfg: RewardConfig) -> float:
    """The scalar the controller maximises; NaN when the metric is missing or not finite."""
    value = metrics.get(cfg.metric)
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return float("nan")
    value = max(float(value), 0.0)  # COCOeval's -1 (no objects of a size) is not a reward
    if cfg.target_flops is None and cfg.target_params is None:
        return value
    cost_key, target = ("flops", cfg.target_flops) if cfg.target_flops is not None else ("params", cfg.target_params)
    cost = float(metrics[cost_key])
    if cfg.kind == "soft":
        w = cfg.weight
    else:
        w = 0.0 if cost <= target else -1.0
    return value * (cost / float(target)) ** w
