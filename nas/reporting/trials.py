"""A search's run folder: `trials.csv`, and what is written from it at the end.

`trials.csv` gets one row per finished, stopped or failed trial as each completes (see
`run_folder`); `best.yaml`, `best.png`, `progress.png` and `summary.json` are rewritten atomically at
the end (and on resume).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from nas.core.status import FINISHED, RECORDED, TrialStatus
from nas.reporting.pareto import FrontSettings, write_front
from nas.reporting.plots import progress_figure, save_figure
from nas.reporting.run_folder import Row, RunFolder, number, numeric_frame, parse_cell
from nas.core.proposal import Completion, Proposal
from search_space.draw import draw_architecture
from search_space.fileio import atomic_write_text
from search_space.space import SearchSpace

COLUMNS = (
    "number", "trial_id", "status", "reward", "AP", "AP50", "AP75", "APs", "APm", "APl", "flops", "params", "latency_ms",
    "arch_id", "actions", "log_prob", "entropy", "epoch", "rungs", "plateau", "screen_score", "screen_s", "wall_s", "cpu_s", "gpu_s", "node", "retries", "error", "finished_at",
)  # fmt: skip  (plateau: why a trained detector is still on the background-only plateau, proxy_tasks/plateau.py; "" when it learned)


class SearchFolder(RunFolder):
    """Reads and writes the files of one search run."""

    CSV = "trials.csv"
    COLUMNS = COLUMNS

    METRICS_AFTER = "latency_ms"

    def __init__(self, path: str | Path, metrics: Sequence[str] = ()) -> None:
        super().__init__(path, metrics)
        self.searcher_state = self.path / "searcher.json"

    @property
    def trials_csv(self) -> Path:
        return self.csv

    def append(self, completion: Completion) -> Row:
        """Append one finished trial to trials.csv (flushed and fsynced before returning)."""
        p = completion.proposal
        return self.append_row(
            completion.trial_id,
            completion.result,
            status=completion.status,
            reward=repr(completion.reward),
            arch_id=p.arch_id,
            actions=" ".join(map(str, p.actions)),
            log_prob=repr(p.log_prob),
            entropy=repr(p.entropy),
            screen_score="" if p.screen_score is None else repr(p.screen_score),
            screen_s=repr(p.screen_s) if p.screen_score is not None else "",
            retries=self.retries.get(completion.trial_id, 0),
        )

    @staticmethod
    def proposal_of(row: Row) -> Proposal:
        """The proposal a row records (for replay into a restored searcher)."""
        v = row.values
        return Proposal(row.actions, v["arch_id"], number(v.get("log_prob")), number(v.get("entropy")), row.status == TrialStatus.CACHED)

    @staticmethod
    def result_of(row: Row) -> dict[str, Any]:
        """The trial's result as the trainable reported it: numbers as numbers, empty cells left out.

        Replayed into a searcher on resume, it feeds the dedup cache, whose entries are reported
        again as results; CSV strings there would read as a missing reward.
        """
        text_columns = ("actions", "trial_id", "arch_id")  # may look like numbers ("1e57...", "1234")
        return {key: text if key in text_columns else parse_cell(text) for key, text in row.values.items() if text not in ("", None)}

    def best(self) -> Row | None:
        """The finished trial with the highest reward (first one on ties)."""
        done = [r for r in self.rows if r.status in FINISHED]
        return max(done, key=lambda r: r.reward) if done else None

    def counts(self) -> dict[str, int]:
        """Rows per status (ok, cached, stopped, failed)."""
        import pandas as pd

        counts = pd.Series([r.status for r in self.rows], dtype=str).value_counts()
        return {str(status): int(counts.get(status, 0)) for status in RECORDED}

    def headline(self) -> str:
        """The status line's summary: the best trial so far."""
        best = self.best()
        if best is None:
            return "best -"
        return f"best AP {float(best.values.get('AP') or 'nan'):.4f} (reward {best.reward:.4f}, trial {best.number})"

    def finalize(self, space: SearchSpace, extra: dict[str, Any] | None = None, front: FrontSettings | None = None) -> dict[str, Any]:
        """Write best.yaml, best.png, progress.png and summary.json (with `extra`), and the
        accuracy-latency front (pareto.csv, pareto/, pareto.png) when the trials carry a latency;
        return the summary."""
        best = self.best()
        summary: dict[str, Any] = {
            "trials": len(self.rows),
            **self.counts(),
            "retries": int(numeric_frame(self.rows, ("retries",))["retries"].sum()),
            **self.cost(),
        }
        if best is not None:
            arch = space.decode(best.actions, name=f"best-{space.name}-trial{best.number}")
            arch.save(self.path / "best.yaml")
            draw_architecture(arch, self.path / "best.png", title=f"best of {len(self.rows)} trials: reward {best.reward:.4f}")
            summary.update(best_trial=best.number, best_reward=best.reward, best_AP=number(best.values.get("AP")), best_arch_id=arch.id)
        summary.update(extra or {})
        front_out = write_front(self.path, self.rows, space, front or FrontSettings())
        if front_out is not None:
            summary["pareto"] = front_out
        self.plot_progress()
        atomic_write_text(self.path / "summary.json", json.dumps(summary, indent=2) + "\n")
        return summary

    def cost(self) -> dict[str, Any]:
        """What the trials cost: totals, means per trial, and per node (trials, wall seconds).

        `cpu_s` is the trial processes' CPU time; `gpu_s` is wall time x the GPU share each held.
        """
        n = max(1, len(self.rows))
        frame = numeric_frame(self.rows, ("wall_s", "cpu_s", "gpu_s"))
        totals = {key: float(value) for key, value in frame.sum().items()}
        frame["node"] = [r.values.get("node") or "?" for r in self.rows]
        nodes = frame.groupby("node")["wall_s"].agg(["size", "sum"])
        by_node = {str(node): {"trials": int(row["size"]), "wall_s": float(row["sum"])} for node, row in nodes.iterrows()}
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
