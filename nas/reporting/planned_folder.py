"""The run folder of planned runs (fidelity, finalize): a row per finished architecture x seed run."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from nas.core.status import TrialStatus
from nas.reporting.run_folder import Row, RunFolder

COLUMNS: tuple[str, ...] = (
    "number", "trial_id", "arch", "arch_id", "kind", "run", "seed", "epochs", "status", "reward", "AP", "AP50", "AP75",
    "APs", "APm", "APl", "plateau", "flops", "params", "wall_s", "cpu_s", "gpu_s", "node", "error", "finished_at",
)  # fmt: skip
REFERENCE = "reference"  # the run name of a reference training (not a proxy seed)


def is_reference(run: Any) -> bool:
    """Whether a `run` cell names a reference training: `reference`, or one of its further seeds (`reference.seed1`)."""
    return str(run) == REFERENCE or str(run).startswith(f"{REFERENCE}.")


class PlannedFolder(RunFolder):
    """A CSV of planned runs (`nas.runner.planned.PlannedRun`), a row per finished one, read back on
    resume; `planned` (all of them) gives the time left in epochs."""

    COLUMNS: tuple[str, ...] = COLUMNS

    def __init__(self, path: str | Path, metrics: Sequence[str] = ()) -> None:
        super().__init__(path, metrics)
        self.planned: list[Any] = []  # PlannedRun: candidate, run, seed, overrides, key, units

    def append(self, run: Any, trial_id: str, result: dict[str, Any]) -> Row:
        """Record one finished planned run."""
        return self.append_row(
            trial_id,
            result,
            arch=run.candidate.name,
            arch_id=run.candidate.arch.id,
            kind=run.candidate.kind,
            run=run.run,
            seed=run.seed,
            epochs=run.overrides.get("epochs", ""),
        )

    def done(self) -> set[tuple[str, str]]:
        return {(r.values["arch_id"], r.values["run"]) for r in self.rows}

    def work(self, start_rows: int, total: int) -> tuple[float, float]:
        """Epochs trained since row `start_rows`, and epochs of the planned runs not yet done."""
        units = {r.key: r.units for r in self.planned}
        since = sum(units.get((r.values["arch_id"], r.values["run"]), 1.0) for r in self.rows[start_rows:])
        done = self.done()
        return since, sum(r.units for r in self.planned if r.key not in done)

    def headline(self) -> str:
        """The status line's summary: how many architectures have every proxy seed."""
        seeds: dict[str, int] = {}
        for r in self.rows:
            if r.status == TrialStatus.OK and r.values["run"] != REFERENCE:
                seeds[r.values["arch"]] = seeds.get(r.values["arch"], 0) + 1
        top = max(seeds.values(), default=0)
        return f"{sum(n == top for n in seeds.values()) if top else 0} architectures with {top} seeds"
