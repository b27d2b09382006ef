"""Early stopping of proxy trainings with ASHA (asynchronous successive halving): its settings and
rung arithmetic. The scheduler that applies them to Tune trials is `nas.runner.asha`.

A trial is evaluated (COCO AP on the reward split) at the rung epochs only; ASHA compares that
reward with the other trials' rewards at the same rung and stops it when it falls below the top
1/reduction_factor. A stopped trial is recorded with status `stopped`, its last rung and that
rung's reward. What the searcher learns from it is `stopped_reward`:

- `rung` (default): the reward measured at the rung where it was stopped, the value ASHA compared
  it at. It is lower than a full training would give, so it acts as a penalty graded by how poor
  the trial looked; it never enters the best-architecture choice or the dedup cache.
- `skip`: no update at all; the controller learns from finished trials only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

TIME_ATTR = "epoch"
STOPPED_RULES = ("rung", "skip")


@dataclass
class SchedulerConfig:
    """`name`: none | asha; ASHA's first rung (`grace_period`, in epochs), its `reduction_factor`,
    and the rule for what a stopped trial feeds the searcher."""

    name: str = "none"
    grace_period: int = 2
    reduction_factor: float = 2.0
    stopped_reward: str = "rung"

    @property
    def enabled(self) -> bool:
        return self.name == "asha"

    def validate(self, epochs: int | None) -> None:
        """Raise `ValueError` naming the key for settings ASHA cannot use with `epochs` per trial."""
        if self.name not in ("none", "asha"):
            raise ValueError(f"scheduler.name must be none or asha, got {self.name!r}")
        if not self.enabled:
            return
        if epochs is None:
            raise ValueError("scheduler=asha stops trainings between epochs; proxy=surrogate has none (use a training proxy)")
        if not 1 <= self.grace_period <= epochs:
            raise ValueError(f"scheduler.grace_period must be between 1 and proxy.epochs={epochs}, got {self.grace_period}")
        if self.reduction_factor <= 1:
            raise ValueError(f"scheduler.reduction_factor must be > 1, got {self.reduction_factor}")
        if self.stopped_reward not in STOPPED_RULES:
            raise ValueError(f"scheduler.stopped_reward must be one of {', '.join(STOPPED_RULES)}, got {self.stopped_reward!r}")


def milestones(cfg: SchedulerConfig, max_t: int) -> list[float]:
    """ASHA's rung milestones for one bracket, ascending (the formula of Ray's scheduler)."""
    count = int(math.log(max_t / cfg.grace_period) / math.log(cfg.reduction_factor) + 1)
    return [cfg.grace_period * cfg.reduction_factor**k for k in range(count)]


def rung_epochs(cfg: SchedulerConfig, max_t: int) -> list[int]:
    """Epochs (before the last) after which a trial is evaluated and may be stopped."""
    if not cfg.enabled:
        return []
    return sorted({math.ceil(m) for m in milestones(cfg, max_t) if math.ceil(m) < max_t})


def expected_epochs(cfg: SchedulerConfig, max_t: int) -> tuple[float, float]:
    """(epochs trained, rung evaluations) per trial on average if ASHA keeps 1/rf at every rung.

    Early in a search ASHA has no cutoffs yet and stops fewer trials, so this is a lower bound.
    """
    rungs = rung_epochs(cfg, max_t)
    if not rungs:
        return float(max_t), 0.0
    points = [*rungs, max_t]
    epochs, evals, share, prev = 0.0, 0.0, 1.0, 0
    for k, epoch in enumerate(points):
        epochs += share * (epoch - prev)
        if k < len(rungs):
            evals += share
        share /= cfg.reduction_factor
        prev = epoch
    return epochs, evals


def format_rungs(history: Iterable[tuple[int, float]], metrics: Sequence[Mapping[str, float]] = ()) -> str:
    """`2:0.0123 4:0.0311`: the reward at each rung a trial reached (a trials.csv column); with
    `metrics` (one mapping per rung: the objectives of a reward that has several) each entry
    carries them too, `2:0.0123/AP=0.0123/latency_ms=41.5`, so a resumed scheduler reads every
    objective back as it was."""
    extra = list(metrics) or [{} for _ in history]
    return " ".join(f"{epoch}:{value!r}" + "".join(f"/{k}={v!r}" for k, v in m.items()) for (epoch, value), m in zip(history, extra))


def parse_rungs(text: str) -> list[tuple[int, float]]:
    """The rewards of `format_rungs`'s text: (epoch, reward) per rung."""
    return [(epoch, value) for epoch, value, _ in parse_rung_entries(text)]


def parse_rung_entries(text: str) -> list[tuple[int, float, dict[str, float]]]:
    """`format_rungs`'s text read back: (epoch, reward, objectives' metrics) per rung; the metrics
    are empty for a single-objective reward and for rows written before they were stored."""
    out = []
    for item in (text or "").split():
        head, *rest = item.split("/")
        epoch, value = head.split(":", 1)
        out.append((int(epoch), float(value), {k: float(v) for k, _, v in (r.partition("=") for r in rest)}))
    return out
