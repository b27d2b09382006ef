"""Successive halving over candidates whose evidence is planned runs, one seed after another.

A rung trains every live candidate's runs at the rung's seeds (plus, on the first rung, any runs
that all candidates are judged against, such as proxy-design's reference trainings); then a judge
reads what the folder holds up to that rung and says who goes on, who stops and why, or that the
whole halving stops (nothing can be judged). A resumed halving holds later rungs' rows already,
so the judge must decide on the rung's own seeds: it is given the rung's last seed index.

proxy-design halves candidate proxies with it (`nas.commands.proxy_design`); anything that ranks
candidates by repeated planned trainings can (candidate learning rates, input sizes, recipes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Generic, Sequence, TypeVar

from nas.runner.planned import PlannedRun

C = TypeVar("C")


@dataclass
class Judgement(Generic[C]):
    """After a rung: the candidates that go on (`keep`), why the others stopped (`stopped`, by
    name), and `halt`: a reason to stop every candidate now (None: go on)."""

    keep: list[C]
    stopped: dict[str, str] = field(default_factory=dict)
    halt: str | None = None


def seed_rungs(selection_seeds: int, seeds: int) -> list[list[int]]:
    """Rungs of seed indices: one rung per selection seed (each chooses survivors), then the
    remaining seeds together for whoever is left (they choose nothing)."""
    return [[k] for k in range(selection_seeds)] + [list(range(selection_seeds, seeds))]


def successive_halving(
    candidates: Sequence[C],
    name: Callable[[C], str],
    rungs: Sequence[Sequence[int]],
    plan: Callable[[C, int], list[PlannedRun]],
    train: Callable[[list[PlannedRun], str], None],
    judge: Callable[[int, int, list[C]], Judgement[C]],
    first: Sequence[PlannedRun] = (),
    noun: str = "candidates",
) -> dict[str, str]:
    """Run the rungs: `plan(c, k)` is candidate c's runs at seed index k, `train(runs, label)`
    trains the ones not finished yet, `judge(rung, last_seed_index, alive)` decides after each rung
    (the last rung's judgement only records, since nobody goes further). Returns why each candidate
    that did not reach the end stopped."""
    alive = list(candidates)
    stopped: dict[str, str] = {}
    for r, seed_indices in enumerate(rungs):
        if not seed_indices or not alive:
            break
        runs = (list(first) if r == 0 else []) + [run for c in alive for k in seed_indices for run in plan(c, k)]
        train(runs, f"rung {r}: {len(alive)} {noun}, seeds {seed_indices[0]}..{seed_indices[-1]}")
        verdict = judge(r, seed_indices[-1], alive)
        if verdict.halt is not None:
            stopped.update({name(c): f"stopped after rung {r}: {verdict.halt}" for c in alive})
            break
        if r + 1 < len(rungs) and rungs[r + 1]:
            alive = verdict.keep
            stopped.update({n: f"stopped after rung {r}" + (f": {why}" if why else "") for n, why in verdict.stopped.items()})
    return stopped


__all__ = ["Judgement", "seed_rungs", "successive_halving"]
