"""Resident memory of the Ray trial workers of a real search, fidelity or proxy-design, sampled
from outside while it runs (no change to what is measured).

`sample` reads /proc every `--every` seconds and appends one row per trial worker (a process whose
command line is `ray::ImplicitFunc.train`, as Ray Tune names a function trainable's actor) to a CSV:
time, pid, resident MB (VmRSS). It stops when `--until-missing` (a file) is gone or after
`--hours`. `summarize` reads that CSV and prints per worker (the runs it covers are counted from
the run folders' CSVs by hand, by their finish times): the samples, the median, the 95th percentile and the peak resident memory, and the RSS
in the first and last tenth of its life (growth over many runs shows as a difference there).

    python benchmarks/ray_worker_rss.py sample --out benchmarks/runs/X/worker_rss.csv --hours 3 &
    python benchmarks/ray_worker_rss.py summarize benchmarks/runs/X/worker_rss.csv
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

import pandas as pd

from nas.core.memory import process_memory_mb

WORKER = "ray::ImplicitFunc.train"


def trial_workers() -> dict[int, float]:
    """pid -> resident MB of every live Ray Tune trial worker on this machine."""
    out: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            cmd = Path(entry.path, "cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
        except OSError:  # the process ended between the listing and the read
            continue
        rss = process_memory_mb(entry.name).get("rss") if cmd.startswith(WORKER) else None
        if rss is not None:
            out[int(entry.name)] = rss
    return out


def sample(out: Path, every: float, hours: float, until_missing: Path | None) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    new = not out.exists()
    end = time.time() + hours * 3600
    with out.open("a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(["time", "pid", "rss_mb"])
        while time.time() < end and (until_missing is None or until_missing.exists()):
            now = time.time()
            for pid, rss in sorted(trial_workers().items()):
                w.writerow([f"{now:.1f}", pid, f"{rss:.1f}"])
            f.flush()
            time.sleep(every)


def summarize(path: Path, min_minutes: float = 0.0) -> str:
    """Per worker and over all; workers that lived under `min_minutes` (another job's short-lived
    actors sampled on the same machine, e.g. a test suite's) are left out."""
    df = pd.read_csv(path)
    life = df.groupby("pid")["time"].agg(lambda t: (t.max() - t.min()) / 60)
    df = df[df["pid"].isin(life[life >= min_minutes].index)]
    lines = [f"{path}: {len(df)} samples of {df['pid'].nunique()} trial workers over {(df['time'].max() - df['time'].min()) / 60:.0f} min",
             f"{'pid':>8} {'samples':>7} {'minutes':>7} {'median MB':>9} {'p95 MB':>7} {'peak MB':>8} {'first tenth':>11} {'last tenth':>10}"]  # fmt: skip
    for pid, g in df.groupby("pid"):
        g = g.sort_values("time")
        k = max(1, len(g) // 10)
        lines.append(
            f"{pid:>8} {len(g):>7} {(g['time'].iloc[-1] - g['time'].iloc[0]) / 60:>7.0f} {g['rss_mb'].median():>9.0f} {g['rss_mb'].quantile(0.95):>7.0f} "
            f"{g['rss_mb'].max():>8.0f} {g['rss_mb'].iloc[:k].median():>11.0f} {g['rss_mb'].iloc[-k:].median():>10.0f}"
        )
    lines.append(f"all workers: median {df['rss_mb'].median():.0f} MB, 95th percentile {df['rss_mb'].quantile(0.95):.0f} MB, peak {df['rss_mb'].max():.0f} MB")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("sample")
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--every", type=float, default=5.0)
    s.add_argument("--hours", type=float, default=3.0)
    s.add_argument("--until-missing", type=Path)
    m = sub.add_parser("summarize")
    m.add_argument("csv", type=Path)
    m.add_argument("--min-minutes", type=float, default=0.0, help="leave out workers that lived less (other jobs' short actors)")
    a = p.parse_args()
    if a.cmd == "sample":
        sample(a.out, a.every, a.hours, a.until_missing)
    else:
        print(summarize(a.csv, a.min_minutes))


if __name__ == "__main__":
    main()
