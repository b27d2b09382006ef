"""Ending a campaign early when trials keep failing the same way (a setup problem, not an architecture's)."""

from __future__ import annotations

from ray.tune import Stopper

from nas.core.status import TrialStatus
from nas.searchers.base import Completion
from search_space.errors import ConfigError


class RepeatedFailureError(ConfigError):
    """Trials kept failing the same way: a problem of the setup, not of one architecture."""


class FailureWatch(Stopper):
    """Stops the Tune run once `limit` completions in a row failed with the same error text.

    Failures that belong to one trial's luck or architecture (a NaN loss, CUDA out of memory, a
    lost worker or node, a trial ended early) break the streak instead of adding to it.
    """

    TRANSIENT = ("NonFiniteLossError", "OutOfMemoryError", "CUDA out of memory", "trial failed in Ray", "ended before its final result")

    def __init__(self, limit: int) -> None:
        self.limit, self.streak, self.error = limit, 0, ""

    def see(self, completion: Completion) -> None:
        """Count one completion into the streak."""
        error = " ".join(str(completion.result.get("error") or "").split()) if completion.status == TrialStatus.FAILED else ""
        if not error or any(t in error for t in self.TRANSIENT):
            self.streak, self.error = 0, ""
        else:
            self.streak = self.streak + 1 if error == self.error else 1
            self.error = error

    @property
    def tripped(self) -> bool:
        return self.limit > 0 and self.streak >= self.limit

    def __call__(self, trial_id: str, result: dict) -> bool:
        return False

    def stop_all(self) -> bool:
        return self.tripped
