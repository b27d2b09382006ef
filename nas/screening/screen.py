"""The screen: between a searcher and the runner, it decides which of the searcher's proposals is
worth a trial.

Per trial the searcher proposes `candidates` architectures (its own way: the controller samples,
evolution mutates, random draws); the screen scores each with the predictor fitted on every
finished trial so far and passes on the one with the best acquisition, mean + `kappa` x spread
(the ensemble's disagreement: it explores where the predictor knows little). Until `warmup`
trials have finished, or while the predictor cannot be fitted, it passes the first proposal on
unscreened, so a search with a screen starts as the same search without one. By default the
searcher learns only from what was trained, with its real reward, and the proposals screened out
teach it nothing; for a policy searcher that update is off-policy (the trained proposal is the best
of K draws, not a draw). With `teach="all"` the choice also carries every proposal passed over with
the predictor's estimate, and a policy searcher learns from all K (each a draw from its policy).

A screen works with any searcher: `nas.runner.screened.ScreenedSearcher` calls `choose` with the
searcher's `propose` and `observe` with each trained result (a searcher imports nothing from here).
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from nas.screening.predictor import Predictor
from search_space.space import SearchSpace


@dataclass
class Choice:
    """The proposal passed on, with its acquisition score (None: unscreened) and the screening time."""

    proposal: Any
    score: float | None
    seconds: float
    others: list[tuple[Any, float]] = field(default_factory=list)  # proposals passed over, with their predicted reward (teach=all)


def distinct_proposals(propose: Callable[[], Any], n: int, space: SearchSpace, trained: set[str] | dict) -> tuple[list[Any], list[Any]]:
    """Of `n` proposals, those of distinct architectures not trained yet (a trained one's result is
    known), with their decoded architectures."""
    proposals, archs, seen = [], [], set()
    for _ in range(n):
        p = propose()
        arch = space.decode(p.actions)
        if arch.id in seen or arch.id in trained:
            continue
        seen.add(arch.id)
        proposals.append(p)
        archs.append(arch)
    return proposals, archs


@dataclass
class PredictorScreen:
    """Screens proposals by a predictor refitted on every finished trial (see the module docstring)."""

    space: SearchSpace
    candidates: int = 256
    warmup: int = 8
    kappa: float = 1.0
    kind: str = "gbr"
    seed: int = 0
    encoding: str = "structure"
    teach: str = "trained"  # "all": the choice carries the proposals passed over with their predictions
    rows: dict[str, tuple[list[int], float]] = field(default_factory=dict)  # arch id -> (actions, reward), first result kept
    _predictor: Predictor | None = None
    _fitted_on: int = 0

    def observe(self, actions: list[int], arch_id: str, reward: float) -> None:
        """A finished trial's real reward (failed trials, with no finite reward, are left out)."""
        if math.isfinite(reward) and arch_id not in self.rows:
            self.rows[arch_id] = (list(actions), float(reward))

    def _fit(self) -> Predictor | None:
        if len(self.rows) < max(self.warmup, 2):
            return None
        if self._predictor is None or self._fitted_on != len(self.rows):
            archs = [self.space.decode(a) for a, _ in self.rows.values()]
            self._predictor = Predictor(self.space, self.kind, seed=self.seed, encoding=self.encoding).fit(archs, [r for _, r in self.rows.values()])
            self._fitted_on = len(self.rows)
        return self._predictor

    def choose(self, propose: Callable[[], Any]) -> Choice:
        """The best of `candidates` proposals by mean + kappa x spread, or the first one unscreened
        during the warm-up. A proposal of an architecture already trained is passed over when
        another is available (its result is known)."""
        t = time.perf_counter()
        predictor = self._fit()
        if predictor is None:
            return Choice(propose(), None, time.perf_counter() - t)
        proposals, archs = distinct_proposals(propose, self.candidates, self.space, set(self.rows))
        if not proposals:
            return Choice(propose(), None, time.perf_counter() - t)
        mean, spread = predictor.predict(archs)
        acquisition = mean + self.kappa * spread
        best = int(np.argmax(acquisition))
        others = [(p, float(m)) for i, (p, m) in enumerate(zip(proposals, mean)) if i != best] if self.teach == "all" else []
        return Choice(proposals[best], float(mean[best]), time.perf_counter() - t, others)


@dataclass
class ZeroCostScreen:
    """Screens proposals by a zero-cost score (`proxy_tasks.zero_cost`) of each one's untrained
    proxy detector on one batch of the proxy's training data: no trained rows are needed, so
    there is no warm-up, and nothing is learnt from the trials (`observe` only remembers what was
    trained). The proposal with the highest score is passed on; one whose score is not finite
    (synflow past float64) ranks last."""

    space: SearchSpace
    evaluator: Any  # nas.evaluators.base.TrainingKind: the driver's training evaluator, with its prepared data
    preset: Any
    score: str = "grad_norm"
    candidates: int = 16
    seed: int = 0
    trained: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)  # "arch id: error" of each proposal whose scoring raised
    say: Callable[[str], None] = field(default=lambda m: print(m, file=sys.stderr, flush=True), repr=False)

    def observe(self, actions: list[int], arch_id: str, reward: float) -> None:
        self.trained.add(arch_id)

    def choose(self, propose: Callable[[], Any]) -> Choice:
        """The proposal of highest score; a proposal whose scoring raises (e.g. out of memory on an
        unusually wide candidate) is passed over and named, never stops the search; when no
        proposal is left to score (all trained already) the next proposal goes on unscreened.
        When every proposal's scoring fails, the screen cannot work here (a missing dependency, a
        bug): the search stops with the error rather than run unscreened without saying so."""
        t = time.perf_counter()
        best: tuple[float, Any] | None = None
        proposals, archs = distinct_proposals(propose, self.candidates, self.space, self.trained)
        failed_before = len(self.failures)
        for p, arch in zip(proposals, archs):
            try:
                value = self.evaluator.zero_cost(arch, self.preset, [self.score], self.seed)[self.score]["value"]
            except Exception as exc:  # noqa: BLE001 - any failure of one candidate's scoring: that candidate is out
                self.failures.append(f"{arch.id}: {type(exc).__name__}: {exc}")
                self.say(f"screen: scoring {arch.id} failed ({type(exc).__name__}: {exc}); passed over ({len(self.failures)} so far)")
                continue
            value = value if math.isfinite(value) else -math.inf
            if best is None or value > best[0]:
                best = (value, p)
        if proposals and len(self.failures) - failed_before == len(proposals):
            raise RuntimeError(f"screen=zero_cost: scoring failed for every one of the {len(proposals)} proposals (last: {self.failures[-1]}); "
                               "the screen cannot work here: run without screen=, or with screen=predictor")  # fmt: skip
        if best is None:
            return Choice(propose(), None, time.perf_counter() - t)
        return Choice(best[1], best[0] if math.isfinite(best[0]) else None, time.perf_counter() - t)
