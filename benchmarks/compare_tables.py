"""Does a change to the proxy keep its ranking? Two benchmark tables (`spinenas table` folders) of
the same architectures, compared on what they share: Kendall tau of the architectures' mean AP with
a 95% bootstrap interval over architectures, and the per-run AP change on the same seeds.

    python benchmarks/compare_tables.py benchmarks/table benchmarks/runs/pad-mean-builtin-2026-12-07
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from nas.core.ranking import bootstrap_interval, kendall_tau


def compare(before: Path, after: Path) -> str:
    a, b = pd.read_csv(before / "table.csv"), pd.read_csv(after / "table.csv")
    both = a.merge(b, on="arch_id", suffixes=("_before", "_after"))
    tau = kendall_tau(both["AP_before"], both["AP_after"])
    lo, hi = bootstrap_interval(kendall_tau, both["AP_before"].to_numpy(), both["AP_after"].to_numpy())
    seeds = sorted(c[len("AP_seed") :] for c in b.columns if c.startswith("AP_seed"))
    diffs = np.concatenate([(both[f"AP_seed{s}_after"] - both[f"AP_seed{s}_before"]).to_numpy() for s in seeds])
    seed_std = float(np.mean(both["AP_std_before"]))
    return "\n".join([
        f"{before} vs {after}: {len(both)} shared architectures, {len(diffs)} same-seed run pairs",
        f"Kendall tau of mean AP {tau:.3f} [95% bootstrap over architectures {lo:.3f}, {hi:.3f}]",
        f"AP after - before, same seed: mean {diffs.mean():+.4f}, std {diffs.std(ddof=1):.4f} (the table's mean seed std: {seed_std:.4f})",
    ])  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("before", type=Path)
    p.add_argument("after", type=Path)
    a = p.parse_args()
    print(compare(a.before, a.after))


if __name__ == "__main__":
    main()
