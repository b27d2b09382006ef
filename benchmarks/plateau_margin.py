"""Does the plateau rule's loss margin (`proxy_tasks.plateau.CLS_MARGIN`) separate runs that learned
from runs that did not? Reads run tables that hold each run's final classification loss and the
constant predictor's (proxy-design's runs.csv, the benchmark table's runs.csv) and prints, per
table, the ratio final / constant for runs with AP50 under the plateau line and for the others.

    python benchmarks/plateau_margin.py results/proxy-design-crowded/runs.csv benchmarks/table/runs.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from proxy_tasks.plateau import CLS_MARGIN, PLATEAU_AP50


def ratios(path: Path) -> pd.DataFrame:
    """Finished runs of one table with `ratio` = final cls loss / constant cls loss and `learned`
    (AP50 at or over the plateau line)."""
    runs = pd.read_csv(path)
    runs = runs[runs["status"] == "ok"].dropna(subset=["final_cls_loss", "constant_cls_loss", "AP50"])
    return runs.assign(ratio=runs["final_cls_loss"] / runs["constant_cls_loss"], learned=runs["AP50"] >= PLATEAU_AP50)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("tables", nargs="+", type=Path)
    a = p.parse_args()
    for path in a.tables:
        r = ratios(path)
        print(f"{path}: {len(r)} runs; margin {CLS_MARGIN}, AP50 line {PLATEAU_AP50}")
        for learned, group in r.groupby("learned"):
            q = group["ratio"].quantile([0, 0.1, 0.5, 0.9, 1]).round(3).tolist()
            over = int((group["ratio"] > CLS_MARGIN).sum())
            label = "AP50 >= line" if learned else "AP50 < line "
            print(f"  {label} {len(group):4d} runs: ratio min/p10/median/p90/max {q}; over the margin: {over}")


if __name__ == "__main__":
    main()
