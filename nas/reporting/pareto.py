"""A search's accuracy-cost front: pareto.csv, one spec file per member, pareto.png.

Written at the end of any search whose reward declares a front pair (its metric, maximised, and one
cost, minimised: `nas.core.objectives.front_pair`; latency for reward=latency_budget|pareto, FLOPs or
params for an MnasNet target) and whose trials carry that cost. The front is over finished trials
(ok or cached: a trial stopped by ASHA at a rung has no final AP); its hypervolume is taken up to the
reward's `ref_ms` for latency (else 1.1 x the costliest finished trial) and the metric 0, so two
searches with the same reference compare by it.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from nas.core.objectives import front_pair
from nas.core.pareto import front_indices, hypervolume
from nas.core.status import FINISHED
from nas.reporting.run_folder import Row, number, write_csv
from nas.rewards import REWARDS
from search_space.errors import SpineNASError
from search_space.fileio import atomic_write_text
from search_space.space import SearchSpace

UNITS = {"latency_ms": ("latency", "ms"), "flops": ("FLOPs", ""), "params": ("parameters", "")}  # how a cost is labelled


def cost_label(cost: str) -> str:
    """A cost's axis label: "latency (ms)", "FLOPs", or the metric's own name."""
    name, unit = UNITS.get(cost, (cost, ""))
    return f"{name} ({unit})" if unit else name


def cost_name(cost: str) -> str:
    """A cost's name in prose: "latency", "FLOPs", or the metric's own name."""
    return UNITS.get(cost, (cost, ""))[0]


@dataclass(frozen=True)
class FrontSettings:
    """Which metric the front trades against which cost (None: the reward declares no front pair),
    and the hypervolume's reference cost (None: 1.1 x the costliest finished trial)."""

    metric: str = "AP"
    cost: str | None = "latency_ms"
    ref: float | None = None

    @classmethod
    def of_reward(cls, reward: Mapping[str, Any] | None) -> "FrontSettings":
        """From a run's `reward` config node (config.yaml): the pair its kind declares, and
        `ref_ms` for a latency front. A node no installed kind reads (none, another version's, a
        plugin's not loaded) gives the latency front, as runs before the declarations had."""
        try:
            node = {str(k): v for k, v in dict(reward or {}).items()}
        except Exception:  # noqa: BLE001 - an unreadable node (an interpolation, a list): the old default
            node = {}
        metric = str(node.get("metric") or "AP")
        known, pair = _declared_pair(node)
        cost = (pair[1] if pair else None) if known else "latency_ms"
        ref = node.get("ref_ms") if cost == "latency_ms" else None
        return cls(str(pair[0]) if pair and pair[0] else metric, cost, float(ref) if isinstance(ref, (int, float)) else None)

    def columns(self) -> tuple[str, ...]:
        """pareto.csv's columns: the cost's own column after the metric's value."""
        return tuple(dict.fromkeys(("rank", "trial", "trial_id", "arch_id", "metric", "value", self.cost or "cost", "flops", "params", "reward", "spec")))


def _declared_pair(reward: Mapping[str, Any]) -> tuple[bool, tuple[str, str] | None]:
    """Whether an installed reward kind reads these options, and the (metric, cost) its objectives
    declare for them (None: no front pair)."""
    name = reward.get("name")
    if name not in REWARDS:
        return False, None
    kind = REWARDS.get(str(name))
    fields = {f.name for f in dataclasses.fields(kind.options)}
    try:
        return True, front_pair(kind.objectives(kind.options(**{k: v for k, v in reward.items() if k in fields})))
    except (TypeError, ValueError, SpineNASError):
        return False, None


def points(rows: Sequence[Row], settings: FrontSettings) -> list[tuple[Row, tuple[float, float]]]:
    """Finished trials with a finite cost and metric, as (row, (cost, metric))."""
    out: list[tuple[Row, tuple[float, float]]] = []
    if settings.cost is None:
        return out
    for r in rows:
        if r.status not in FINISHED:
            continue
        cost, value = number(r.values.get(settings.cost), math.nan), number(r.values.get(settings.metric), math.nan)
        if math.isfinite(cost) and math.isfinite(value):
            out.append((r, (cost, max(value, 0.0))))
    return out


def reference(pts: Sequence[tuple[float, float]], settings: FrontSettings) -> float:
    """The hypervolume's reference cost."""
    return settings.ref if settings.ref is not None else 1.1 * max(p[0] for p in pts)


def front_summary(rows: Sequence[Row], settings: FrontSettings) -> dict[str, Any] | None:
    """The front's members, size and hypervolume; None when no finished trial has the cost."""
    pts = points(rows, settings)
    if not pts:
        return None
    xy = [p for _, p in pts]
    ref = reference(xy, settings)
    members = [pts[i][0] for i in front_indices(xy)]
    return {"front": members, "front_size": len(members), "hypervolume": hypervolume(xy, ref), "reference": ref, "metric": settings.metric, "cost": settings.cost, "points": xy}


def write_front(folder: Path, rows: Sequence[Row], space: SearchSpace, settings: FrontSettings) -> dict[str, Any] | None:
    """Write pareto.csv, pareto/trial<N>.yaml per member and pareto.png; return the summary
    (front size, hypervolume, reference) or None when no trial has the cost."""
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
            "value": row.values.get(settings.metric), str(settings.cost): row.values.get(str(settings.cost)), "flops": row.values.get("flops"),
            "params": row.values.get("params"), "reward": row.reward, "spec": str(spec),
        })  # fmt: skip
    write_csv(folder / "pareto.csv", settings.columns(), records)
    from nas.reporting.plots import front_figure, save_figure

    title = f"{folder.name}: front of {len(summary['points'])} trials"
    save_figure(front_figure(summary["points"], settings.metric, summary["reference"], title, cost_label(str(settings.cost))), folder / "pareto.png")
    out = {"front_size": summary["front_size"], "hypervolume": summary["hypervolume"], "reference": summary["reference"]}
    atomic_write_text(folder / "pareto.json", json.dumps({**out, "metric": settings.metric, "cost": settings.cost, "members": records}, indent=2) + "\n")
    return out
