"""A search's accuracy-latency front: pareto.csv, one spec file per member, pareto.png.

Written at the end of any search whose trials carry `latency_ms` (a latency-budget or Pareto
reward). The front is over finished trials (ok or cached: a trial stopped by ASHA at a rung has
no final AP); its hypervolume is taken up to the reward's `ref_ms` (else 1.1 x the slowest
finished trial) and AP 0, so two searches with the same reference compare by it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from nas.core.pareto import front_indices, hypervolume
from nas.core.status import FINISHED
from nas.reporting.run_folder import Row, number, write_csv
from search_space.fileio import atomic_write_text
from search_space.space import SearchSpace

COST = "latency_ms"
COLUMNS = ("rank", "trial", "trial_id", "arch_id", "metric", "value", "latency_ms", "flops", "params", "reward", "spec")


@dataclass(frozen=True)
class FrontSettings:
    """Which metric the front trades against latency, and the hypervolume's reference latency
    (None: 1.1 x the slowest finished trial)."""

    metric: str = "AP"
    ref_ms: float | None = None

    @classmethod
    def of_reward(cls, reward: Mapping[str, Any] | None) -> "FrontSettings":
        """From a run's `reward` config node (config.yaml)."""
        reward = reward or {}
        ref = reward.get("ref_ms")
        return cls(str(reward.get("metric") or "AP"), float(ref) if ref is not None else None)


def points(rows: Sequence[Row], metric: str) -> list[tuple[Row, tuple[float, float]]]:
    """Finished trials with a finite latency and metric, as (row, (latency, metric))."""
    out = []
    for r in rows:
        if r.status not in FINISHED:
            continue
        cost, value = number(r.values.get(COST), math.nan), number(r.values.get(metric), math.nan)
        if math.isfinite(cost) and math.isfinite(value):
            out.append((r, (cost, max(value, 0.0))))
    return out


def reference(pts: Sequence[tuple[float, float]], settings: FrontSettings) -> float:
    """The hypervolume's reference latency."""
    return settings.ref_ms if settings.ref_ms is not None else 1.1 * max(p[0] for p in pts)


def front_summary(rows: Sequence[Row], settings: FrontSettings) -> dict[str, Any] | None:
    """The front's members, size and hypervolume; None when no finished trial has a latency."""
    pts = points(rows, settings.metric)
    if not pts:
        return None
    xy = [p for _, p in pts]
    ref = reference(xy, settings)
    members = [pts[i][0] for i in front_indices(xy)]
    return {"front": members, "front_size": len(members), "hypervolume": hypervolume(xy, ref), "ref_ms": ref, "metric": settings.metric, "points": xy}


def write_front(folder: Path, rows: Sequence[Row], space: SearchSpace, settings: FrontSettings) -> dict[str, Any] | None:
    """Write pareto.csv, pareto/trial<N>.yaml per member and pareto.png; return the summary
    (front size, hypervolume, reference) or None when no trial has a latency."""
    summary = front_summary(rows, settings)
    if summary is None:
        return None
    records = []
    for rank, row in enumerate(summary["front"]):
        arch = space.decode(row.actions, name=f"pareto-{space.name}-trial{row.number}")
        spec = Path("pareto") / f"trial{row.number}.yaml"
        arch.save(folder / spec)
        records.append({
            "rank": rank, "trial": row.number, "trial_id": row.trial_id, "arch_id": arch.id, "metric": settings.metric,
            "value": row.values.get(settings.metric), "latency_ms": row.values.get(COST), "flops": row.values.get("flops"),
            "params": row.values.get("params"), "reward": row.reward, "spec": str(spec),
        })  # fmt: skip
    write_csv(folder / "pareto.csv", COLUMNS, records)
    from nas.reporting.plots import front_figure, save_figure

    save_figure(front_figure(summary["points"], settings.metric, summary["ref_ms"], f"{folder.name}: front of {len(summary['points'])} trials"), folder / "pareto.png")
    out = {"front_size": summary["front_size"], "hypervolume": summary["hypervolume"], "ref_ms": summary["ref_ms"]}
    atomic_write_text(folder / "pareto.json", json.dumps({**out, "metric": settings.metric, "members": records}, indent=2) + "\n")
    return out
