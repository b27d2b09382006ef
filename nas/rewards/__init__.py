"""Rewards: what a trial's metrics are worth to the searcher.

Owns the reward registry: each kind is an options schema (the Hydra `reward` group's node, chosen
by its `name`), a function of the trial's metrics and the objectives it declares (the metric, then
the costs it trades against it; `nas.core.objectives`). The trial (`nas.runner.trial`) calls
`compute_reward`; the searchers only see the number. Imports only `nas.core` below it.

Adding a reward: one module here with its options dataclass (`name` defaulting to the kind's name),
its function and (beyond the metric alone) its objectives, one `REWARDS.register` line below, and a `conf/reward/<choice>.yaml` that starts
from `base_<name>` (docs/code.md shows it).
"""

from __future__ import annotations

from typing import Any, Mapping

from nas.rewards.base import RewardKind, metric_value
from nas.core.objectives import Objective
from nas.rewards.latency import LatencyBudgetOptions, ParetoOptions, budget_objectives, front_objectives, latency_budget_reward, pareto_reward
from nas.rewards.mnas import RewardConfig, mnas_objectives, mnas_reward
from search_space.registry import Registry

REWARDS: Registry[RewardKind] = Registry("reward")
REWARDS.register("mnas", lambda: RewardKind(RewardConfig, mnas_reward, mnas_objectives))
REWARDS.register("latency_budget", lambda: RewardKind(LatencyBudgetOptions, latency_budget_reward, budget_objectives))
REWARDS.register("pareto", lambda: RewardKind(ParetoOptions, pareto_reward, front_objectives, front=True))


def compute_reward(metrics: Mapping[str, Any], options: Any) -> float:
    """The scalar the searcher maximises, by the reward kind `options.name` names."""
    return REWARDS.get(options.name).compute(metrics, options)


def objectives_of(options: Any) -> tuple[Objective, ...]:
    """What the reward `options` configure optimises: the metric first, then the costs it trades."""
    return REWARDS.get(options.name).objectives(options)


__all__ = ["REWARDS", "RewardConfig", "RewardKind", "compute_reward", "metric_value", "objectives_of"]
