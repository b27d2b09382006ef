"""ASHA for Tune trials, with its rung bookkeeping our own (public Tune API only).

One bracket of asynchronous successive halving, as Ray Tune's `ASHAScheduler(brackets=1)` decides
it: a trial reaching a rung milestone for the first time is stopped when its reward is below the
(1 - 1/reduction_factor) quantile of the rewards recorded at that rung, and its reward is recorded
either way; a trial at `max_t` is stopped (its training is over). Owning the rungs lets a resumed
search give the scheduler the rung rewards (and points) of earlier trials (`seed`), and lets other
objectives say what a rung compares.

With two objectives (`reward=pareto`: the metric up, latency down) a rung also keeps every trial
whose (latency, metric at the rung) no trial recorded at that rung dominates: a fast trial slightly
below the reward cutoff goes on when nothing faster is better, since it may belong on the front.
With `reward=latency_budget` the reward already carries the latency term and is compared alone.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from ray.tune.schedulers import FIFOScheduler, TrialScheduler

from nas.core.pareto import dominates
from nas.core.schedule import TIME_ATTR, SchedulerConfig, milestones

METRIC = "reward"


class Rungs:
    """The rewards recorded at each rung milestone, and the stop rule."""

    def __init__(self, marks: list[float], reduction_factor: float) -> None:
        self.rf = reduction_factor
        self.recorded: dict[float, dict[str, float]] = {m: {} for m in sorted(marks, reverse=True)}
        self.points: dict[float, dict[str, tuple[float, float]]] = {m: {} for m in self.recorded}  # (cost, metric), two objectives

    def cutoff(self, milestone: float) -> float | None:
        """The reward a trial must reach at `milestone` to go on (None: nothing recorded yet)."""
        values = list(self.recorded[milestone].values())
        return float(np.nanpercentile(values, (1 - 1 / self.rf) * 100)) if values else None

    def decide(self, trial_id: str, t: float, reward: float, point: tuple[float, float] | None = None) -> str:
        """At progress `t`: compare and record at the highest milestone <= t the trial has not been
        recorded at; CONTINUE or STOP. With a `point` (cost, metric) a trial below the cutoff goes
        on when no point recorded at that rung dominates it."""
        for milestone, recorded in self.recorded.items():
            if t < milestone or trial_id in recorded:
                continue
            cutoff = self.cutoff(milestone)
            recorded[trial_id] = reward
            if cutoff is None or reward >= cutoff:
                decision = TrialScheduler.CONTINUE
            elif point is not None and not any(dominates(q, point) for q in self.points[milestone].values()):
                decision = TrialScheduler.CONTINUE  # on the rung's front
            else:
                decision = TrialScheduler.STOP
            if point is not None:
                self.points[milestone][trial_id] = point
            return decision
        return TrialScheduler.CONTINUE

    def seed(self, history: dict[str, list[tuple[int, float]]], points: dict[str, list[tuple[int, tuple[float, float]]]] | None = None) -> int:
        """Record rung rewards of trials finished before a resume (epoch, reward), and with two
        objectives their rung points (epoch, (cost, metric)); returns how many rewards."""
        seeded = 0
        for trial_id, rewards in history.items():
            for epoch, value in rewards:
                for milestone in self._milestones_at(epoch) if math.isfinite(value) else ():
                    self.recorded[milestone][trial_id] = value
                    seeded += 1
        for trial_id, rung_points in (points or {}).items():
            for epoch, point in rung_points:
                for milestone in self._milestones_at(epoch) if all(math.isfinite(x) for x in point) else ():
                    self.points[milestone][trial_id] = point
        return seeded

    def _milestones_at(self, epoch: int) -> list[float]:
        """The milestones a rung result reported at whole `epoch` belongs to."""
        return [m for m in self.recorded if math.ceil(m) == epoch]


class AshaScheduler(FIFOScheduler):
    """Tune's trial scheduler over proxy epochs on `reward` (maximised)."""

    def __init__(self, cfg: SchedulerConfig, max_t: int, objectives: tuple[str, str] | None = None) -> None:
        super().__init__()
        self.max_t = max_t
        self.rungs = Rungs(milestones(cfg, max_t), cfg.reduction_factor)
        self.objectives = objectives  # (metric, cost) of a two-objective search

    def point(self, result: dict) -> tuple[float, float] | None:
        """(cost, metric) of a rung result in a two-objective search (None otherwise or when missing)."""
        if self.objectives is None:
            return None
        metric, cost = (result.get(k) for k in self.objectives)
        ok = all(isinstance(x, (int, float)) and math.isfinite(x) for x in (metric, cost))
        return (float(cost), float(metric)) if ok else None  # type: ignore[arg-type]

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
        if TIME_ATTR not in result or METRIC not in result:
            return TrialScheduler.CONTINUE  # loss-curve points carry no reward
        if result[TIME_ATTR] >= self.max_t:
            return TrialScheduler.STOP
        return self.rungs.decide(trial.trial_id, result[TIME_ATTR], result[METRIC], self.point(result))

    def on_trial_complete(self, tune_controller: Any, trial: Any, result: dict) -> None:
        if TIME_ATTR in result and METRIC in result:
            self.rungs.decide(trial.trial_id, result[TIME_ATTR], result[METRIC], self.point(result))

    def seed(self, history: dict[str, list[tuple[int, float]]], points: dict[str, list[tuple[int, tuple[float, float]]]] | None = None) -> int:
        """Give a fresh scheduler the rung rewards (and two-objective points) of a resumed run's trials."""
        return self.rungs.seed(history, points)


def make_scheduler(cfg: SchedulerConfig, max_t: int, objectives: tuple[str, str] | None = None) -> AshaScheduler | None:
    """ASHA over `max_t` proxy epochs (with the two-objective rule for `objectives` = (metric,
    cost)), or None when early stopping is off."""
    return AshaScheduler(cfg, max_t, objectives) if cfg.enabled else None
