"""Runs decided before a campaign starts: architectures under given seeds or lengths.

`spinenas fidelity` and `spinenas finalize` plan every run up front (each candidate under each
seed, and reference runs), record each finished one in their run folder, and on resume run only
those the folder does not hold yet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ray.tune.search import Searcher

from nas.core.status import TrialStatus
from search_space.catalog import get_architecture
from search_space.spec import Architecture

CATALOG_ANCHORS = ("spinenet49", "resnet50_fpn")  # the catalog models every proxy can train


@dataclass(frozen=True)
class Candidate:
    """An architecture under test: its name in the report, how it was chosen, its proxy FLOPs."""

    name: str
    kind: str  # fidelity: sampled | catalog | coarsest; finalize: candidate | baseline
    arch: Architecture
    flops: int


def anchor_candidates(space: Any, flops: Callable[[Architecture], int] | None = None) -> list[Candidate]:
    """The anchors of a planned campaign: SpineNet-49, the ResNet-50-FPN seed and the space's
    coarsest member (a deliberately poor one), with their FLOPs where `flops` is given."""
    anchors = [(name, "catalog", get_architecture(name)) for name in CATALOG_ANCHORS]
    coarsest = space.coarsest()
    anchors.append((coarsest.name, "coarsest", coarsest))
    return [Candidate(name, kind, arch, flops(arch) if flops else 0) for name, kind, arch in anchors]


def anchors_and_flops(settings: Any) -> tuple[list[Candidate], Callable[[Architecture], int]]:
    """A campaign's anchors (`anchor_candidates` of the configured space) and the function that
    costs an architecture's proxy detector in FLOPs at the configured preset."""
    from search_space.catalog import get_preset

    preset = get_preset(settings.top.preset)

    def flops(arch: Architecture) -> int:
        return int(settings.evaluator.cost(arch, preset)["flops"])

    return anchor_candidates(settings.space, flops), flops


@dataclass
class PlannedRun:
    """One training of one candidate decided before the campaign: a proxy seed, or a reference."""

    candidate: Candidate
    run: str  # seed<k> | reference
    seed: int
    overrides: dict[str, Any]
    units: float = 1.0  # relative length (epochs), for the time-left estimate

    @property
    def key(self) -> tuple[str, str]:
        return (self.candidate.arch.id, self.run)

    def trial_config(self) -> dict[str, Any]:
        """The trainable's config: the search's keys plus the proxy fields this run changes."""
        arch = self.candidate.arch
        return {"arch": arch.to_dict(), "arch_id": arch.id, "proxy_overrides": dict(self.overrides), "run": self.run}


class PlannedRuns(Searcher):
    """Hands Tune the planned runs in order and gives `record(run, trial_id, result)` each finished
    one; a failed or lost trial is recorded as failed, with its error."""

    def __init__(self, runs: Sequence[PlannedRun], record: Callable[[PlannedRun, str, dict[str, Any]], Any]) -> None:
        super().__init__(metric="reward", mode="max")
        self.queue, self.record = list(runs), record
        self.pending: dict[str, PlannedRun] = {}

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        return True

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if not self.queue:
            return Searcher.FINISHED  # type: ignore[return-value]  # Tune's own "no more trials" marker, a str its annotation omits
        run = self.queue.pop(0)
        self.pending[trial_id] = run
        return run.trial_config()

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        run = self.pending.pop(trial_id, None)
        if run is None:
            return  # a repeated completion: already recorded
        result = dict(result or {})
        if error or result.get("status") != TrialStatus.OK:
            result["status"] = TrialStatus.FAILED.value
            result["error"] = result.get("error") or "trial failed in Ray (raised, or its worker was lost)"
            result["reward"] = math.nan
        self.record(run, trial_id, result)

    def save(self, checkpoint_path: str) -> None:
        """Nothing to save: the run folder's CSV is the state (resume skips the runs it holds)."""

    def restore(self, checkpoint_path: str) -> None:
        pass
