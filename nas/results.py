"""The one writer of a search's output folder.

`trials.csv` gets one row per finished, stopped or failed trial, appended and fsynced as each completes
(a kill can at worst cut the last line, which is dropped on resume); `best.yaml`, `best.png`,
`progress.png` and `summary.json` are rewritten atomically at the end (and on resume).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from nas.searchers.base import Completion, Proposal  # noqa: E402
from nas.status import FINISHED, RECORDED, TrialStatus  # noqa: E402
from search_space.draw import draw_architecture  # noqa: E402
from search_space.fileio import atomic_write_bytes, atomic_write_text  # noqa: E402
from search_space.space import SearchSpace  # noqa: E402

COLUMNS = (
    "number", "trial_id", "status", "reward", "AP", "AP50", "AP75", "APs", "APm", "APl", "flops", "params",
    "arch_id", "actions", "log_prob", "entropy", "epoch", "rungs", "wall_s", "cpu_s", "gpu_s", "node", "retries", "error", "finished_at",
)  # fmt: skip


@dataclass
class TrialRow:
    """A row of trials.csv, parsed."""

    number: int
    trial_id: str
    status: str
    reward: float
    actions: list[int]
    values: dict[str, Any]


class RunFolder:
    """Reads and writes the files of one search run."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.trials_csv = self.path / "trials.csv"
        self.searcher_state = self.path / "searcher.json"
        self.rows: list[TrialRow] = []
        self.retries: dict[str, int] = {}  # trial id -> restarts after a lost worker or node

    def start(self, resume: bool) -> None:
        """Create the folder, or (resume) read back the rows of the run it holds."""
        self.path.mkdir(parents=True, exist_ok=True)
        self.rows = self.read_rows() if resume else []
        self._rewrite_rows()  # the header; on resume also drops a line cut short by a kill

    def read_rows(self) -> list[TrialRow]:
        """Rows of trials.csv; a torn last line (no newline) is ignored."""
        return [
            TrialRow(
                number=int(rec["number"]),
                trial_id=rec["trial_id"],
                status=rec["status"],
                reward=float(rec["reward"]),
                actions=[int(a) for a in rec["actions"].split()],
                values=rec,
            )
            for rec in read_csv_records(self.trials_csv)
        ]

    def _rewrite_rows(self) -> None:
        write_csv(self.trials_csv, COLUMNS, [r.values for r in self.rows])

    def append(self, completion: Completion) -> TrialRow:
        """Append one finished trial to trials.csv (flushed and fsynced before returning)."""
        res, p = completion.result, completion.proposal
        values: dict[str, Any] = {k: csv_cell(res.get(k)) for k in COLUMNS}
        values.update(
            number=len(self.rows) + 1,
            trial_id=completion.trial_id,
            status=completion.status,
            reward=repr(completion.reward),
            arch_id=p.arch_id,
            actions=" ".join(map(str, p.actions)),
            log_prob=repr(p.log_prob),
            entropy=repr(p.entropy),
            retries=self.retries.get(completion.trial_id, 0),
            error=str(res.get("error", "")).replace("\n", " ")[:500],
            finished_at=time.strftime("%Y-%m-%dT%H:%M:%S"),
        )
        append_csv_row(self.trials_csv, COLUMNS, values)
        row = TrialRow(values["number"], completion.trial_id, completion.status, completion.reward, list(p.actions), values)
        self.rows.append(row)
        return row

    @staticmethod
    def proposal_of(row: TrialRow) -> Proposal:
        """The proposal a row records (for replay into a restored searcher)."""
        v = row.values
        return Proposal(row.actions, v["arch_id"], float(v["log_prob"] or 0), float(v["entropy"] or 0), row.status == TrialStatus.CACHED)

    @staticmethod
    def result_of(row: TrialRow) -> dict[str, Any]:
        """The trial's result as the trainable reported it: numbers as numbers, empty cells left out.

        Replayed into a searcher on resume, it feeds the dedup cache, whose entries are reported
        again as results; CSV strings there would read as a missing reward.
        """
        text_columns = ("actions", "trial_id", "arch_id")  # may look like numbers ("1e57...", "1234")
        return {key: text if key in text_columns else _parse(text) for key, text in row.values.items() if text not in ("", None)}

    def best(self) -> TrialRow | None:
        """The finished trial with the highest reward (first one on ties)."""
        done = [r for r in self.rows if r.status in FINISHED]
        return max(done, key=lambda r: r.reward) if done else None

    def counts(self) -> dict[str, int]:
        """Rows per status (ok, cached, stopped, failed)."""
        return {str(status): sum(r.status == status for r in self.rows) for status in RECORDED}

    def headline(self) -> str:
        """The status line's summary: the best trial so far."""
        best = self.best()
        if best is None:
            return "best -"
        return f"best AP {float(best.values.get('AP') or 'nan'):.4f} (reward {best.reward:.4f}, trial {best.number})"

    def finalize(self, space: SearchSpace, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Write best.yaml, best.png, progress.png and summary.json (with `extra`); return the summary."""
        best = self.best()
        summary: dict[str, Any] = {
            "trials": len(self.rows),
            **self.counts(),
            "retries": sum(int(_num(r.values.get("retries"))) for r in self.rows),
            **self.cost(),
        }
        if best is not None:
            arch = space.decode(best.actions, name=f"best-{space.name}-trial{best.number}")
            arch.save(self.path / "best.yaml")
            draw_architecture(arch, self.path / "best.png", title=f"best of {len(self.rows)} trials: reward {best.reward:.4f}")
            summary.update(best_trial=best.number, best_reward=best.reward, best_AP=_num(best.values.get("AP")), best_arch_id=arch.id)
        summary.update(extra or {})
        self.plot_progress()
        atomic_write_text(self.path / "summary.json", json.dumps(summary, indent=2) + "\n")
        return summary

    def cost(self) -> dict[str, Any]:
        """What the trials cost: totals, means per trial, and per node (trials, wall seconds).

        `cpu_s` is the trial processes' CPU time; `gpu_s` is wall time x the GPU share each held.
        """
        n = max(1, len(self.rows))
        totals = {key: sum(_num(r.values.get(key)) for r in self.rows) for key in ("wall_s", "cpu_s", "gpu_s")}
        by_node: dict[str, dict[str, float]] = {}
        for r in self.rows:
            node = by_node.setdefault(r.values.get("node") or "?", {"trials": 0, "wall_s": 0.0})
            node["trials"] += 1
            node["wall_s"] += _num(r.values.get("wall_s"))
        return {
            "nodes": sorted(by_node),
            "trial_wall_s": totals["wall_s"],
            "cpu_s": totals["cpu_s"],
            "gpu_s": totals["gpu_s"],
            "cpu_hours": totals["cpu_s"] / 3600,
            "gpu_hours": totals["gpu_s"] / 3600,
            "per_trial": {key: value / n for key, value in totals.items()},
            "by_node": by_node,
        }

    def plot_progress(self) -> None:
        """Reward per trial (failed trials marked) and the best so far, as progress.png."""
        save_figure(progress_figure(self.rows, f"{self.path.name}: {len(self.rows)} trials"), self.path / "progress.png")


def progress_figure(rows: Sequence[TrialRow], title: str) -> Any:
    """A figure of the reward per trial (stopped and failed trials marked) and the best so far."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    xs = [r.number for r in rows]
    ok = [(r.number, r.reward) for r in rows if r.status in FINISHED]
    stopped = [(r.number, r.reward) for r in rows if r.status == TrialStatus.STOPPED]
    bad = [(r.number, r.reward) for r in rows if r.status == TrialStatus.FAILED]
    best, running = [], -math.inf
    for r in rows:
        if r.status in FINISHED:
            running = max(running, r.reward)
        best.append(running if running > -math.inf else float("nan"))
    if ok:
        ax.scatter(*zip(*ok), s=12, label="trial reward", color="#4c72b0")
    if stopped:
        ax.scatter(*zip(*stopped), s=14, marker="v", label="stopped early (rung reward)", color="#8c8c8c")
    if bad:
        ax.scatter(*zip(*bad), s=18, marker="x", label="failed", color="#c44e52")
    if xs:
        ax.step(xs, best, where="post", color="#dd8452", label="best so far")
        ax.legend(fontsize=8, frameon=False)
    ax.set_xlabel("trial (completion order)")
    ax.set_ylabel("reward")
    ax.set_title(title)
    return fig


def save_figure(fig: Any, path: Path) -> None:
    """Write a matplotlib figure as a PNG atomically (no half-written image), open axes' top and
    right spines hidden, and close it."""
    open_axes(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def open_axes(fig: Any) -> None:
    """Hide the top and right spines of every axes of `fig` (the house style of our plots)."""
    for ax in fig.axes:
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)


def read_csv_records(path: Path) -> list[dict[str, str]]:
    """Records of a CSV file written by `write_csv`/`append_csv_row`; a torn last line is ignored."""
    if not path.exists():
        return []
    text = path.read_text()
    if text and not text.endswith("\n"):  # a kill during an append cut the last line
        text = text[: text.rfind("\n") + 1]
    return list(csv.DictReader(io.StringIO(text)))


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


def _parse(text: str) -> Any:
    """A CSV cell back to int, float or (otherwise) the string."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0
