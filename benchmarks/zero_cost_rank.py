"""How well do zero-cost scores rank the benchmark table's architectures by their proxy AP?

Scores every architecture of the table (its spec in archs/) at initialisation on one batch of the
table's proxy data (`proxy_tasks.zero_cost`, seed 0: the initialisation of the table's seed-0 runs),
keeping them in `<table>/zero_cost.csv` (only architectures not yet scored are scored, so the script
follows a growing table), then prints and writes `<table>/zero_cost.json`: Kendall tau and Spearman
rho of each score against the mean AP over the architectures with every seed, each with a 95%
paired bootstrap interval, and the score's cost in ms per architecture.

Run: .venv/bin/python benchmarks/zero_cost_rank.py --table benchmarks/table
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from nas.core.ranking import kendall_tau, spearman_rho
from nas.evaluators import build_evaluator
from nas.reporting.bench_table import interval_dict, table_of
from nas.settings.search import load_settings
from proxy_tasks.zero_cost import ZERO_COST, score_architecture
from search_space import load_architecture
from search_space.catalog import get_preset
from search_space.fileio import atomic_write_text


def score_table(folder: Path, proxy: str) -> pd.DataFrame:
    """zero_cost.csv of `folder`, extended by the architectures not scored yet."""
    path = folder / "zero_cost.csv"
    done = pd.read_csv(path, dtype={"arch_id": str}) if path.exists() else pd.DataFrame(columns=["arch_id"])
    todo = [p for p in sorted((folder / "archs").glob("*.yaml")) if p.stem not in set(done["arch_id"])]
    if todo:
        torch.set_num_threads(1)
        settings = load_settings([f"proxy={proxy}"])
        task = build_evaluator(settings.proxy).task
        preset = get_preset(settings.top.preset)
        rows = []
        for k, spec in enumerate(todo):
            scores = score_architecture(task, load_architecture(spec), preset, seed=0)
            rows.append({"arch_id": spec.stem, **{n: s["value"] for n, s in scores.items()}, **{f"{n}_ms": s["ms"] for n, s in scores.items()}})
            if (k + 1) % 20 == 0:
                print(f"scored {k + 1}/{len(todo)}", flush=True)
        done = pd.concat([done, pd.DataFrame(rows)], ignore_index=True)
        atomic_write_text(path, done.to_csv(index=False))
    return done


def rank_scores(table: pd.DataFrame, scores: pd.DataFrame) -> dict[str, dict]:
    """Per score: tau and rho with mean AP (95% bootstrap intervals), and ms per architecture."""
    merged = table[table["seeds"] >= table["seeds"].max()].merge(scores, on="arch_id", suffixes=("_table", ""))
    ap = merged["AP"].to_numpy(dtype=float)
    out = {}
    for name in ZERO_COST:
        if name not in merged:
            continue
        x = merged[name].to_numpy(dtype=float)
        x = np.where(np.isinf(x), np.sign(x) * np.finfo(float).max, x)  # an overflowed synflow ranks at the top
        out[name] = {
            "kendall_tau": interval_dict(kendall_tau, x, ap),
            "spearman_rho": interval_dict(spearman_rho, x, ap),
            "ms_per_arch": float(merged[f"{name}_ms"].mean()),
        }
    return out


def markdown(result: dict[str, dict], n: int) -> str:
    lines = [f"| score | Kendall tau with mean AP (95% CI), {n} archs | Spearman rho (95% CI) | ms per arch |", "|---|---|---|---|"]
    order = sorted(result, key=lambda k: -(result[k]["kendall_tau"]["value"] or -9))
    for name in order:
        t, r = result[name]["kendall_tau"], result[name]["spearman_rho"]
        lines.append(f"| {name} | {ci(t)} | {ci(r)} | {result[name]['ms_per_arch']:.0f} |")
    return "\n".join(lines)


def ci(d: dict) -> str:
    """`+0.123 [+0.050, +0.190]`, with n/a for what could not be computed."""

    def f(x: float | None) -> str:
        return "n/a" if x is None else f"{x:+.3f}"

    return f"{f(d['value'])} [{f(d['low'])}, {f(d['high'])}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, default=Path("benchmarks/table"))
    parser.add_argument("--proxy", default="synthetic", help="the proxy whose data and initialisation the scores use (the table's)")
    args = parser.parse_args()
    table = table_of(args.table)
    scores = score_table(args.table, args.proxy)
    result = rank_scores(table, scores)
    n = next(iter(result.values()))["kendall_tau"]["n"]
    atomic_write_text(args.table / "zero_cost.json", json.dumps({"architectures": n, "scores": result}, indent=2) + "\n")
    print(markdown(result, n))


if __name__ == "__main__":
    main()
