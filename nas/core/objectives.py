"""What a search optimises, as the kinds declare it: objectives (a metric and its direction).

A reward kind declares its objectives from its options (the first is the primary metric, maximised;
the rest are costs it trades against it), a searcher kind declares whether it learns from several
objectives itself; settings, ASHA, trials.csv and the report read these declarations instead of
asking for a kind by name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, Mapping, Sequence

Goal = Literal["max", "min"]


@dataclass(frozen=True)
class Objective:
    """One metric of a trial's result and its direction. `in_reward`: the scalar reward carries it
    (a budget term); False for an objective only a multi-objective searcher or a front sees."""

    metric: str
    goal: Goal = "max"
    in_reward: bool = True

    def __post_init__(self) -> None:
        if self.goal not in ("max", "min"):
            raise ValueError(f"objective {self.metric}: goal must be max or min, got {self.goal!r}")

    def value(self, result: Mapping[str, Any]) -> float:
        """The result's value of this metric (NaN when missing or not finite)."""
        value = result.get(self.metric)
        return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else math.nan


def costs(objectives: Sequence[Objective]) -> tuple[str, ...]:
    """The metrics after the primary one: what a trial must measure besides the reward's metric."""
    return tuple(o.metric for o in objectives[1:])


def unseen_by_scalar(objectives: Sequence[Objective]) -> tuple[str, ...]:
    """Objectives the scalar reward does not carry: a single-objective searcher would not learn them."""
    return tuple(o.metric for o in objectives if not o.in_reward)


def front_pair(objectives: Sequence[Objective]) -> tuple[str, str] | None:
    """(metric, cost) of a two-objective front (the first maximised, the second minimised: the
    points `nas.core.pareto` sorts), or None when the objectives are not such a pair."""
    if len(objectives) == 2 and objectives[0].goal == "max" and objectives[1].goal == "min":
        return objectives[0].metric, objectives[1].metric
    return None
