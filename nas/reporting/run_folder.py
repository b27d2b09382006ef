"""One run-folder abstraction: a folder and the CSV its runner appends a row to per finished trial.

Rows are appended and fsynced as trials finish (a kill can at worst cut the last line, which is
dropped on resume); a resumed run reads them back. Search (`trials.csv`), fidelity
(`fidelity.csv`) and the commands after them each subclass `RunFolder` with their columns and
their status-line headline; the progress line and resume work the same way for all of them.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import socket
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from nas.core.status import TrialStatus
from search_space.errors import ConfigError
from search_space.fileio import atomic_write_text

if TYPE_CHECKING:
    import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Row:
    """A CSV record with typed access to the columns every run folder has."""

    values: dict[str, Any]

    @property
    def number(self) -> int:
        return int(self.values["number"])

    @property
    def trial_id(self) -> str:
        return str(self.values["trial_id"])

    @property
    def status(self) -> str:
        return self.values["status"]

    @property
    def reward(self) -> float:
        """The reward as a float (NaN where the cell is empty or not a number)."""
        try:
            return float(self.values["reward"])
        except (TypeError, ValueError):
            return math.nan

    @property
    def actions(self) -> list[int]:
        """The proposal's actions (search rows; empty elsewhere)."""
        return [int(a) for a in str(self.values.get("actions") or "").split()]


class RunFolder:
    """A run's folder and its CSV (`CSV`, with `COLUMNS`): `start`, `append_row`, the rows so far,
    and the headline and remaining work the progress line shows."""

    CSV = "rows.csv"
    COLUMNS: Sequence[str] = ()
    METRICS_AFTER = "params"  # where the metrics the kinds declare beyond COLUMNS go

    def __init__(self, path: str | Path, metrics: Sequence[str] = ()) -> None:
        """`metrics`: what the run's kinds declare its trials measure (the evaluator's metrics, the
        reward's objectives); those COLUMNS lack get a column after `METRICS_AFTER`."""
        extra = [m for m in dict.fromkeys(metrics) if m not in self.COLUMNS]
        if extra:
            at = list(self.COLUMNS).index(self.METRICS_AFTER) + 1
            self.COLUMNS = (*self.COLUMNS[:at], *extra, *self.COLUMNS[at:])
        self.path = Path(path)
        self.rows: list[Row] = []
        self.retries: dict[str, int] = {}  # trial id -> restarts after a lost worker or node

    @property
    def csv(self) -> Path:
        return self.path / self.CSV

    def start(self, resume: bool) -> None:
        """Create the folder, or (resume) read back the rows of the run it holds."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.rows = self.read_rows() if resume else []
        write_csv(self.csv, self.COLUMNS, [r.values for r in self.rows])  # the header; on resume also drops a torn line

    def read_rows(self) -> list[Row]:
        """Rows of the CSV; a torn last line (no newline) is ignored."""
        rows = [Row(rec) for rec in read_csv_records(self.csv)]
        for line, row in enumerate(rows, start=2):
            if not str(row.values.get("number", "")).isdigit() or not row.values.get("status"):
                raise ConfigError(
                    f"{self.csv}: line {line}: a row needs a trial number and a status, got number {row.values.get('number')!r}, "
                    f"status {row.values.get('status')!r}; restore the file, or start a new out_dir"
                )
        return rows

    def append_row(self, trial_id: str, result: dict[str, Any], **values: Any) -> Row:
        """Append one finished trial: the result's cells for the columns, then `values`, numbered,
        with its error on one line and the time; flushed and fsynced before returning."""
        record: dict[str, Any] = {k: csv_cell(result.get(k)) for k in self.COLUMNS}
        record.update(
            number=len(self.rows) + 1,
            trial_id=trial_id,
            error=str(result.get("error", "")).replace("\n", " ")[:500],
            finished_at=time.strftime("%Y-%m-%dT%H:%M:%S"),
        )
        record.update(values)
        append_csv_row(self.csv, self.COLUMNS, record)
        row = Row(record)
        self.rows.append(row)
        return row

    def headline(self) -> str:
        """The status line's summary of the rows so far."""
        raise NotImplementedError

    def work(self, start_rows: int, total: int) -> tuple[float, float]:
        """Work done since row `start_rows` and work left of `total` trials, in units of equal cost
        (trials here; a folder whose trials differ in length counts epochs)."""
        return float(len(self.rows) - start_rows), float(total - len(self.rows))


RUNNING = "RUNNING.json"  # written by a search while it runs; removed when it ends, however it ends


@contextlib.contextmanager
def running_marker(folder: Path) -> Iterator[None]:
    """Mark `folder` as held by a running search (host, pid, start) until the block ends."""
    path = Path(folder) / RUNNING
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "started": time.strftime("%Y-%m-%dT%H:%M:%S")}) + "\n")
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def check_not_running(folder: Path) -> None:
    """`ConfigError` when a search still runs in `folder` (its marker names a live process here, or
    another host, which cannot be checked); a marker left by a killed process on this host is ignored."""
    path = Path(folder) / RUNNING
    try:
        marker = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if marker.get("host") == socket.gethostname():
        try:
            os.kill(int(marker["pid"]), 0)
        except (ProcessLookupError, ValueError, KeyError):
            return  # the search was killed: its folder is as complete as it will get
        except PermissionError:
            pass  # alive, another user's
    raise ConfigError(
        f"{folder}: its search is still running (pid {marker.get('pid')} on {marker.get('host')}, started {marker.get('started')}); "
        f"wait for it to end (or, if it is gone, delete {path})"
    )


def out_dir_of(out_dir: str | None, kind: str) -> Path:
    """The folder a command writes into: the `out_dir` given, else `default_out_dir(kind)`."""
    return Path(out_dir) if out_dir else default_out_dir(kind)


def default_out_dir(kind: str) -> Path:
    """`results/<kind>-<date-time>/`, made unique if two runs start in the same second."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = REPO_ROOT / "results" / f"{kind}-{stamp}"
    path, k = base, 1
    while path.exists():
        path, k = Path(f"{base}-{k}"), k + 1
    return path


def read_csv_records(path: Path) -> list[dict[str, str]]:
    """Records of a CSV file written by `write_csv`/`append_csv_row`, every cell the text written
    (floats stay exact; empty stays empty); a torn last line is ignored."""
    if not path.exists():
        return []
    text = path.read_text()
    if text and not text.endswith("\n"):  # a kill during an append cut the last line
        text = text[: text.rfind("\n") + 1]
    if not text.strip():
        return []
    import pandas as pd  # here: the CLI's refusals must not pay for importing it

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)  # a row longer than the header: not silently cut
            return [{str(k): v for k, v in r.items()} for r in pd.read_csv(io.StringIO(text), dtype=str, na_filter=False, index_col=False).to_dict("records")]
    except (pd.errors.ParserError, pd.errors.ParserWarning, ValueError) as e:
        raise ConfigError(f"{path}: not readable as the CSV a run writes ({' '.join(str(e).split())[:160]}); restore it, or start a new out_dir") from None


def write_csv(path: Path, columns: Sequence[str], records: Sequence[dict[str, Any]]) -> None:
    """Write a header and `records` atomically (temp file, then rename)."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, columns, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    w.writerows(records)
    atomic_write_text(path, buf.getvalue())


def append_csv_row(path: Path, columns: Sequence[str], values: dict[str, Any]) -> None:
    """Append one record, flushed and fsynced before returning (a kill can cut at most this line)."""
    buf = io.StringIO()
    csv.DictWriter(buf, columns, extrasaction="ignore", lineterminator="\n").writerow(values)
    with open(path, "a", encoding="utf-8") as f:
        f.write(buf.getvalue())
        f.flush()
        os.fsync(f.fileno())


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell: floats exactly (repr), None empty."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return value


def parse_cell(text: str) -> Any:
    """A CSV cell back to int, float or (otherwise) the string."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def number(value: Any, default: float = 0.0) -> float:
    """A cell as a float, `default` where it is empty or not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def numeric_frame(rows: Sequence[Row], columns: Sequence[str]) -> pd.DataFrame:
    """`columns` of the rows as floats, one line per row; an empty or non-numeric cell is 0."""
    import pandas as pd

    frame = pd.DataFrame([r.values for r in rows], columns=list(columns))
    return frame.apply(pd.to_numeric, errors="coerce").fillna(0.0).astype(float)


def ok_frame(rows: Sequence[Row], extra: Sequence[str] = ()) -> pd.DataFrame:
    """The rows that finished ok as a frame: `arch_id`, `run`, the `extra` columns and `reward` (a
    float), in row order; of two ok rows of one (arch_id, run), as a resume that trained a run again
    leaves them, the later one."""
    import pandas as pd  # here: the CLI's refusals must not pay for importing it

    columns = ["arch_id", "run", *extra]
    records = [{**{c: r.values.get(c) for c in columns}, "reward": r.reward} for r in rows if r.status == TrialStatus.OK]
    frame = pd.DataFrame.from_records(records, columns=[*columns, "reward"])
    return frame.drop_duplicates(["arch_id", "run"], keep="last")
