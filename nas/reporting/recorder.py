"""The recorder of a search: what each completion writes into the run folder.

The runner hands it every completion the searcher made (`record`), in order: the trials.csv row,
then the searcher state (at most every `state_every_s`; completions after the last save are in
trials.csv and a resume replays them), the TensorBoard scalars and the live report page. It is a
Tune callback for its lifetime only: `setup` (the run starts) opens the TensorBoard writer and
writes the first page, `on_experiment_end` closes the writer; `close` does the same where the run
ended by an error.
"""

from __future__ import annotations

import math
import time
from typing import Any

from ray.tune import Callback

from nas.reporting.report import LiveReport
from nas.reporting.run_folder import Row
from nas.reporting.tensorboard import SearchScalars
from nas.reporting.trials import SearchFolder
from nas.searchers.base import ArchSearcher, Completion


class SearchRecorder(Callback):
    """Writes a search's completions: row, searcher state, TensorBoard scalars, report page."""

    def __init__(self, folder: SearchFolder, searcher: ArchSearcher, state_every_s: float = 0.0) -> None:
        super().__init__()
        self.folder, self.searcher, self.state_every_s = folder, searcher, state_every_s
        self.report = LiveReport(folder.path)
        self.scalars: SearchScalars | None = None
        self._saved_at = -math.inf

    def setup(self, stop: Any = None, num_samples: int | None = None, total_num_samples: int | None = None, **info: Any) -> None:
        """The run starts: open the TensorBoard writer, write the page."""
        if self.scalars is None:
            self.scalars = SearchScalars(self.folder.path, updates_done=len(self.searcher.history))
        self.report.refresh("running", force=True)

    def record(self, completion: Completion) -> Row:
        """One completion, in the order a kill at any point can be resumed from."""
        row = self.folder.append(completion)
        if time.monotonic() - self._saved_at >= self.state_every_s:
            self.save_state()
        if self.scalars is not None:
            self.scalars.log(row, self.folder.best(), self.searcher.history)
        self.report.refresh("running")
        return row

    def save_state(self) -> None:
        """Save the searcher's state into the run folder now."""
        self.searcher.save(str(self.folder.searcher_state))
        self._saved_at = time.monotonic()

    def tick(self) -> None:
        """Called with each timed status line: write a report refresh that was put off."""
        self.report.catch_up()

    def on_experiment_end(self, trials: list, **info: Any) -> None:
        self.close()

    def close(self) -> None:
        if self.scalars is not None:
            self.scalars.close()
            self.scalars = None
