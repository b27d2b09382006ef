"""The status of a trial, as trials.csv, the searchers and the trial results spell it."""

from __future__ import annotations

from enum import Enum


class TrialStatus(str, Enum):
    """String-valued, so rows and results compare and print as the plain words they always were."""

    OK = "ok"  # trained and evaluated
    CACHED = "cached"  # a duplicate architecture: the first result re-used
    STOPPED = "stopped"  # ended early by the scheduler (ASHA) at a rung
    FAILED = "failed"  # raised, NaN, lost more than trial.max_failures times
    PARTIAL = "partial"  # a rung's intermediate result (becomes STOPPED when the trial ends there)
    CURVE = "curve"  # a loss-curve point between rungs (carries no reward)

    def __str__(self) -> str:
        return self.value


FINISHED = (TrialStatus.OK, TrialStatus.CACHED)  # trials with a full result: the best is one of these
RECORDED = (TrialStatus.OK, TrialStatus.CACHED, TrialStatus.STOPPED, TrialStatus.FAILED)  # trials.csv's statuses
