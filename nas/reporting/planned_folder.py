"""The run folder of planned runs (fidelity, finalize): a row per finished architecture x seed run."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from nas.core.status import TrialStatus
from nas.reporting.run_folder import Row, RunFolder

if TYPE_CHECKING:
    import pandas as pd

COLUMNS: tuple[str, ...] = (
    "number", "trial_id", "arch", "arch_id", "kind", "run", "seed", "epochs", "status", "reward", "AP", "AP50", "AP75",
    "APs", "APm", "APl", "plateau", "flops", "params", "wall_s", "cpu_s", "gpu_s", "node", "error", "finished_at",
)  # fmt: skip
REFERENCE = "reference"  # the role of a reference training (not a proxy seed)
SEED = "seed"  # the role of a proxy seed (fidelity, table, proxy-design) or a confirmation seed (finalize)
SELECT = "select"  # the role of finalize's selection seeds


@dataclass(frozen=True)
class RunKey:
    """What a planned run is, as columns: its `role` (SEED, SELECT or REFERENCE), its seed index
    and, in proxy-design, the candidate proxy it trains under (`p3`). Its `cell` is the `run`
    column of every planned folder's CSV, the key a resume has always matched on."""

    role: str
    seed_index: int = 0
    proxy: str = ""

    @property
    def cell(self) -> str:
        """`seed1`, `select0`, `reference`, `reference.seed1`, `p3.seed1`."""
        if self.role == REFERENCE:
            return REFERENCE if self.seed_index == 0 else f"{REFERENCE}.{SEED}{self.seed_index}"
        return f"{self.proxy}.{self.role}{self.seed_index}" if self.proxy else f"{self.role}{self.seed_index}"


_CELL = re.compile(rf"^(?:(?P<proxy>[^.]+)\.)?(?P<role>{SEED}|{SELECT})(?P<k>\d+)$")


def run_key(cell: Any) -> RunKey:
    """The key a `run` cell names (the inverse of `RunKey.cell`); a cell no planned run writes is
    refused in words."""
    text = str(cell)
    if text == REFERENCE:
        return RunKey(REFERENCE)
    m = _CELL.match(text)
    if m is None or (m["proxy"] == REFERENCE and m["role"] != SEED):
        raise ValueError(f"run {text!r} is not a planned run's name (seed<k>, select<k>, reference[.seed<k>] or <proxy>.seed<k>)")
    if m["proxy"] == REFERENCE:
        return RunKey(REFERENCE, int(m["k"]))
    return RunKey(m["role"], int(m["k"]), m["proxy"] or "")


def is_reference(run: Any) -> bool:
    """Whether a `run` cell names a reference training: `reference`, or one of its further seeds (`reference.seed1`)."""
    try:
        return run_key(run).role == REFERENCE
    except ValueError:
        return False


def with_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` (rows of a planned folder, with its `run` column) with the run keys as columns:
    `role`, `seed_index`, `proxy`."""
    keys = [run_key(c) for c in frame["run"]]
    return frame.assign(role=[k.role for k in keys], seed_index=[k.seed_index for k in keys], proxy=[k.proxy for k in keys])


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
            if r.status == TrialStatus.OK and not is_reference(r.values["run"]):
                seeds[r.values["arch"]] = seeds.get(r.values["arch"], 0) + 1
        top = max(seeds.values(), default=0)
        return f"{sum(n == top for n in seeds.values()) if top else 0} architectures with {top} seeds"
