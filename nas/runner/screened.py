"""The screen between a searcher and the runner (`screen=predictor|zero_cost`, docs/screen.md).

`ScreenedSearcher` is what the runner asks for trials when a screen is configured: per trial it lets
the screen choose among the searcher's proposals (`screen.choose(searcher.propose)`), hands the
choice back to the searcher, which registers it as it would its own (`ArchSearcher.suggest(trial_id,
proposal)`), and shows the screen every trained result. The searcher knows nothing of the screen;
what it learns from a screened trial is on the proposal (`screened_out`, with `screen.teach=all`).
"""

from __future__ import annotations

from typing import Any

from nas.core.proposal import Completion
from nas.core.status import TrialStatus
from nas.searchers.base import ArchSearcher


class ScreenedSearcher:
    """A searcher with a screen in front of it (`screen` None: the searcher as it is), with the
    searcher's trial contract: `suggest`, `complete` (and Tune's `on_trial_complete`), `save`,
    `restore`."""

    def __init__(self, searcher: ArchSearcher, screen: Any | None) -> None:
        self.searcher, self.screen = searcher, screen

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if self.screen is None:
            return self.searcher.suggest(trial_id)
        choice = self.screen.choose(self.searcher.propose)
        proposal = choice.proposal
        proposal.screen_score, proposal.screen_s = choice.score, choice.seconds
        proposal.screened_out = [(list(p.actions), float(p.log_prob), float(p.entropy), float(v)) for p, v in getattr(choice, "others", [])]
        return self.searcher.suggest(trial_id, proposal)

    def complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> Completion | None:
        """The searcher's completion; a trained (or cached) result also goes to the screen."""
        completion = self.searcher.complete(trial_id, result, error)
        if completion is not None:
            self._show(completion.status, completion.proposal.actions, completion.proposal.arch_id, completion.reward)
        return completion

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        self.complete(trial_id, result, error)

    def observe_rows(self, rows: Any) -> None:
        """Every finished row of a resumed run folder, once: the screen's data are all the trained trials."""
        for row in rows:
            self._show(row.status, row.actions, row.values["arch_id"], row.reward)

    def _show(self, status: str, actions: list[int], arch_id: str, reward: float) -> None:
        """A trained (or cached) result goes to the screen; failed and stopped ones do not."""
        if self.screen is not None and status in (TrialStatus.OK, TrialStatus.CACHED):
            self.screen.observe(actions, arch_id, reward)

    def save(self, checkpoint_path: str) -> None:
        self.searcher.save(checkpoint_path)

    def restore(self, checkpoint_path: str) -> None:
        self.searcher.restore(checkpoint_path)
