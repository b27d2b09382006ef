"""The benchmark table's folder (runs.csv, a row per training) and what is made of it: table.csv
(a row per architecture, seeds averaged) and table.json (how the table was made and how noisy it is).

The table is a set of architectures of one space, each trained on one proxy with a few seeds; the
predictor and the zero-cost scores (`nas.screening`) are measured against its per-architecture
means. `spinenas table` writes it (nas/commands/table.py).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from nas.core.ranking import bootstrap_interval, kendall_tau, signal_to_noise, signal_to_noise_corrected, spearman_rho
from nas.core.stats import finite_or_none
from nas.core.status import TrialStatus
from nas.reporting.planned_folder import COLUMNS as PLANNED_COLUMNS
from nas.reporting.planned_folder import PlannedFolder
from search_space.errors import ConfigError
from search_space.fileio import atomic_write_text

RUN_METRICS = ("initial_loss", "final_loss", "final_cls_loss", "constant_cls_loss", "train_s", "eval_s", "probe_eval_s", "steps", "machine")
ARCH_COLUMNS = ("arch_id", "arch", "kind", "flops", "params", "latency_ms", "seeds")  # then the per-metric columns


def probe_columns(fractions: Sequence[float]) -> tuple[str, ...]:
    """The AP and AP50 columns of the mid-training evaluations (`AP@0.25`, ...)."""
    return tuple(f"{name}@{f:g}" for f in fractions for name in ("AP", "AP50"))


class TableFolder(PlannedFolder):
    """runs.csv: the planned folder's columns plus losses, timings, the machine and the probes."""

    CSV = "runs.csv"

    def __init__(self, path: str | Path, probe_at: Sequence[float] = ()) -> None:
        super().__init__(path)
        self.COLUMNS = PLANNED_COLUMNS[:-2] + RUN_METRICS + probe_columns(probe_at) + PLANNED_COLUMNS[-2:]


def read_runs(path: Path) -> pd.DataFrame:
    """runs.csv as a frame (failed runs included; `status` tells them apart)."""
    if not path.exists():
        raise ConfigError(f"{path}: no such file (a benchmark table's runs.csv)")
    return pd.read_csv(path, dtype={"arch_id": str, "trial_id": str, "error": str, "node": str, "machine": str})


def per_seed_ap(runs: pd.DataFrame) -> pd.DataFrame:
    """AP of each finished run: a row per architecture (`arch_id`), a column per run (`seed0`, ...)."""
    ok = runs[runs["status"] == TrialStatus.OK.value]
    return ok.pivot_table(index="arch_id", columns="run", values="AP", aggfunc="first")


def arch_table(runs: pd.DataFrame, latency_ms: dict[str, float] | None = None) -> pd.DataFrame:
    """A row per architecture: FLOPs, params, predicted latency, AP per seed, then the seed means of
    every metric (`AP`, `AP50`, `AP@0.25`, losses, `train_s`) and AP's seed std. Failed runs count
    in no mean; `seeds` is how many finished."""
    ok = runs[runs["status"] == TrialStatus.OK.value]
    metrics = [c for c in ok.columns if c in ("AP", "AP50", "initial_loss", "final_loss", "train_s") or c.startswith(("AP@", "AP50@"))]
    first = runs.groupby("arch_id", sort=False)[["arch", "kind", "flops", "params"]].first()
    grouped = ok.groupby("arch_id", sort=False)
    means = grouped[metrics].mean()
    per_seed = per_seed_ap(runs)
    per_seed.columns = [f"AP_{c}" for c in per_seed.columns]
    table = first.join(means, how="left").join(per_seed, how="left")
    table["AP_std"] = grouped["AP"].std(ddof=1)
    table["seeds"] = grouped.size()
    table["seeds"] = table["seeds"].fillna(0).astype(int)
    table["latency_ms"] = [latency_ms.get(a, math.nan) if latency_ms else math.nan for a in table.index]
    table = table.reset_index()
    front = list(ARCH_COLUMNS) + ["AP", "AP_std"] + sorted(per_seed.columns)
    return table[front + [c for c in table.columns if c not in front]]


def summarize_table(runs: pd.DataFrame, table: pd.DataFrame, header: dict[str, Any]) -> dict[str, Any]:
    """table.json: what the table is (space, proxy, seeds), how long it took where, the seed-to-seed
    tau and rho (with 95% bootstrap intervals over architectures), the signal-to-noise, the spread of AP."""
    seed_cols = sorted(c for c in table.columns if c.startswith("AP_seed"))
    scores = table[seed_cols].to_numpy(dtype=float)
    full = scores[~np.isnan(scores).any(axis=1)] if len(seed_cols) else np.empty((0, 0))
    seed_tau = seed_rho = None
    if full.shape[0] >= 3 and full.shape[1] >= 2:
        seed_tau = interval_dict(kendall_tau, full[:, 0], full[:, 1])
        seed_rho = interval_dict(spearman_rho, full[:, 0], full[:, 1])
    ap = table["AP"].dropna()
    ok = runs[runs["status"] == TrialStatus.OK.value]
    return {
        **header,
        "architectures": int(len(table)),
        "complete_architectures": int(full.shape[0]),
        "runs": int(len(runs)),
        "failed_runs": int((runs["status"] != TrialStatus.OK.value).sum()),
        "seed_kendall_tau": seed_tau,
        "seed_spearman_rho": seed_rho,
        "signal_to_noise": finite_or_none(signal_to_noise_corrected(full)) if full.size else None,  # noise-corrected, as everywhere
        "signal_to_noise_raw": finite_or_none(signal_to_noise(full)) if full.size else None,
        "seed_std_mean": finite_or_none(float(table["AP_std"].mean())) if len(table) else None,
        "AP": {q: finite_or_none(float(v)) for q, v in zip(("min", "q25", "median", "q75", "max"), np.quantile(ap, [0, 0.25, 0.5, 0.75, 1]))} if len(ap) else None,
        "AP_std_over_archs": finite_or_none(float(ap.std(ddof=1))) if len(ap) > 1 else None,
        "run_wall_s": {"total": float(ok["wall_s"].sum()), "median": finite_or_none(float(ok["wall_s"].median())) if len(ok) else None},
        "machines": sorted(str(m) for m in ok["machine"].dropna().unique()) if "machine" in ok else [],
    }


def interval_dict(statistic: Any, a: np.ndarray, b: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """`statistic(a, b)` with its 95% paired bootstrap interval and the number of pairs."""
    low, high = bootstrap_interval(statistic, a, b, seed=seed)
    return {"value": finite_or_none(statistic(a, b)), "low": finite_or_none(low), "high": finite_or_none(high), "n": int(len(a))}


def write_table(out: Path, table: pd.DataFrame) -> Path:
    """table.csv, written atomically; floats as pandas writes them (full precision)."""
    path = out / "table.csv"
    atomic_write_text(path, table.to_csv(index=False, float_format="%.6g"))
    return path


def table_of(folder: Path) -> pd.DataFrame:
    """The per-architecture table of a table folder, made afresh from its runs.csv (so it includes
    the runs of a table still being trained)."""
    return arch_table(read_runs(Path(folder) / TableFolder.CSV))


def read_table(path: Path) -> pd.DataFrame:
    """A table.csv written by `write_table` (or the committed benchmark table)."""
    if not Path(path).exists():
        raise ConfigError(f"{path}: no such file (a benchmark table, table.csv)")
    table = pd.read_csv(path, dtype={"arch_id": str})
    missing = [c for c in ("arch_id", "AP", "flops", "params") if c not in table.columns]
    if missing:
        raise ConfigError(f"{path}: not a benchmark table (no column {', '.join(missing)})")
    return table


def format_table_summary(summary: dict[str, Any], out: Path) -> str:
    """The lines `spinenas table` prints at the end."""

    def ci(d: dict[str, Any] | None) -> str:
        if not d or d["value"] is None:
            return "n/a"
        if d["low"] is None:
            return f"{d['value']:.3f} (no interval) over {d['n']} archs"
        return f"{d['value']:.3f} [{d['low']:.3f}, {d['high']:.3f}] over {d['n']} archs"

    ap = summary["AP"] or {}
    lines = [
        f"benchmark table: {summary['architectures']} architectures ({summary['complete_architectures']} with every seed), "
        f"{summary['runs']} runs, {summary['failed_runs']} failed",
        f"  seed-to-seed Kendall tau {ci(summary['seed_kendall_tau'])}; Spearman rho {ci(summary['seed_spearman_rho'])}",
        f"  AP of the architecture means: min {ap.get('min', math.nan):.4f}, median {ap.get('median', math.nan):.4f}, max {ap.get('max', math.nan):.4f}; "
        f"mean seed std {summary['seed_std_mean'] or math.nan:.4f}; signal-to-noise {summary['signal_to_noise'] or math.nan:.2f} "
        f"(noise-corrected; raw ratio {summary.get('signal_to_noise_raw') or math.nan:.2f})",
        f"  {out / 'table.csv'}",
    ]
    return "\n".join(lines)
