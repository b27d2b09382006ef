"""What a searcher proposed for a trial and how the trial finished: plain records shared by the
searchers (which make them) and the run folders (which write and read them back), with no torch
or Ray behind them, so reading a run folder stays light."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Proposal:
    """What was suggested for a trial: the actions and what the searcher needs to learn from it."""

    actions: list[int]
    arch_id: str
    log_prob: float = 0.0
    entropy: float = 0.0
    cached: bool = False
    screen_score: float | None = None  # the screen's estimate when it chose this proposal (None: not screened)
    screen_s: float = 0.0  # seconds the screen spent choosing it
    # The proposals the screen passed over for this one, with the predictor's estimate of each:
    # (actions, log_prob, entropy, predicted reward); filled only with `screen.teach=all`.
    screened_out: list[tuple[list[int], float, float, float]] = field(default_factory=list)


@dataclass
class Completion:
    """A finished trial as the searcher saw it."""

    trial_id: str
    proposal: Proposal
    reward: float
    status: str  # ok | failed | cached | stopped
    result: dict[str, Any] = field(default_factory=dict)
