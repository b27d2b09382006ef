"""Does the built-in proxy's ranking carry over to a user's data (issue 42, point 5)?

A slice of the benchmark table's architectures trained again under another proxy (`spinenas table
--archs N proxy=<the data's proxy.yaml>`, the same draws and seeds) is compared with the table:

- Kendall tau between the two proxies' architecture means over the architectures both trained,
  with a 95% bootstrap interval over architectures and the permutation p of "ranks alike at all";
  the same over the architectures that learn on both proxies (off the plateau in at least one seed
  of each, fidelity's rule), since an architecture that learns nothing hands out free pairs;
- the seed-to-seed tau of each proxy on the slice (how much either could agree at best);
- the zero-cost screen's gain on the slice: the expected mean AP of the best-scored of K uniform
  draws minus a random draw's, scores computed at initialisation on a batch of *each* proxy's own
  data (`benchmarks/zero_cost_rank.py --proxy`), with a bootstrap interval over architectures, for
  the new data and, on the same architectures, for the table.

    python benchmarks/zero_cost_rank.py --table SLICE --proxy SLICE_PROXY.yaml     # scores on the new data
    python benchmarks/transfer_slice.py SLICE [--table benchmarks/table]

Writes SLICE/transfer.json and prints the numbers.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from nas.core.ranking import kendall_p_greater, kendall_tau, seed_agreement
from nas.reporting.bench_table import interval_dict, read_runs, table_of
from search_space.fileio import atomic_write_text

from screen_on_table import expected_pick  # noqa: E402  (benchmarks/ is the script's folder)

KS = (4, 8, 16)
SCORES = ("grad_norm", "synflow", "naswot", "snip", "flops")


def seed_table(folder: Path, ids: list[str]) -> np.ndarray:
    t = table_of(folder).set_index("arch_id").reindex(ids)
    return t[sorted(c for c in t.columns if c.startswith("AP_seed"))].to_numpy(dtype=float)


def learners(folder: Path) -> set[str]:
    """Architectures off the background-only plateau in at least one seed in `folder`: the rule of
    `nas.reporting.fidelity.left_out` without a reference (on the plateau in every seed: left out)."""
    runs = read_runs(folder / "runs.csv")
    ok = runs[runs["status"] == "ok"]
    off = ok["plateau"].astype("string").fillna("").str.len() == 0 if "plateau" in ok else pd.Series(True, index=ok.index)
    return set(ok.loc[off, "arch_id"].astype(str))


def tau_block(a: np.ndarray, b: np.ndarray) -> dict:
    """Kendall tau with its 95% bootstrap interval (`interval_dict`, as the table's own) and the
    permutation p of "ranks alike at all"."""
    return {**interval_dict(kendall_tau, a, b), "permutation_p": kendall_p_greater(a, b)}


def gains(ap: np.ndarray, score: np.ndarray, boot: int = 2000, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    samples = [rng.integers(0, len(ap), len(ap)) for _ in range(boot)]
    out = {}
    for k in KS:
        if k > len(ap):
            continue
        gain = expected_pick(ap, score, k) - ap.mean()
        dist = [expected_pick(ap[s], score[s], k) - ap[s].mean() for s in samples]
        out[str(k)] = {"gain": float(gain), "interval": [float(x) for x in np.percentile(dist, [2.5, 97.5])], "gain_in_std": float(gain / ap.std(ddof=1))}
    return out


def compare(slice_dir: Path, table_dir: Path) -> dict:
    new, old = table_of(slice_dir), table_of(table_dir)
    both = new.merge(old, on="arch_id", suffixes=("_new", "_table"))
    both = both[(both["seeds_new"] >= both["seeds_new"].max()) & (both["seeds_table"] >= both["seeds_table"].max())]
    ids = both["arch_id"].astype(str).tolist()
    learn = learners(slice_dir) & learners(table_dir)
    mask = np.array([i in learn for i in ids])
    a, b = both["AP_new"].to_numpy(float), both["AP_table"].to_numpy(float)
    result = {
        "slice": str(slice_dir),
        "table": str(table_dir),
        "all": tau_block(a, b),
        "learning": tau_block(a[mask], b[mask]),
        "left_out": sorted(set(ids) - learn),
        "seed_tau": {"new": seed_agreement(seed_table(slice_dir, ids))["kendall_tau"], "table": seed_agreement(seed_table(table_dir, ids))["kendall_tau"]},
        "mean_AP": {"new": float(a.mean()), "table": float(b.mean())},
        "screen": {},
    }
    drawn = (both["kind_new"] == "sampled").to_numpy() if "kind_new" in both else np.ones(len(ids), bool)
    for label, folder, ap in (("new", slice_dir, a), ("table", table_dir, b)):
        path = folder / "zero_cost.csv"
        if not path.exists():
            continue
        z = pd.read_csv(path, dtype={"arch_id": str}).set_index("arch_id").reindex(ids)
        z["flops"] = both["flops_new"].to_numpy(float)
        result["screen"][label] = {
            s: gains(ap[drawn], np.nan_to_num(z[s].to_numpy(float)[drawn], nan=-np.inf, posinf=np.finfo(float).max)) for s in SCORES if s in z
        }
    return result


def report(r: dict) -> str:
    def tau(t: dict) -> str:
        return f"tau {t['value']:+.3f} [95% {t['low']:+.3f}, {t['high']:+.3f}], permutation p {t['permutation_p']:.3g}, {t['n']} archs"

    lines = [f"{r['slice']} against {r['table']}",
             f"  all shared architectures: {tau(r['all'])}",
             f"  architectures that learn both: {tau(r['learning'])} (left out: {', '.join(r['left_out']) or 'none'})",
             f"  seed-to-seed tau on the slice: new {r['seed_tau']['new']:+.3f}, table {r['seed_tau']['table']:+.3f}; mean AP new {r['mean_AP']['new']:.4f}, table {r['mean_AP']['table']:.4f}"]  # fmt: skip
    for label, per_score in r["screen"].items():
        lines.append(f"  screen gain of the best-scored of K over a random draw (AP, {label} proxy's scores and APs), K = {', '.join(map(str, KS))}:")
        for s, per_k in per_score.items():
            lines.append(f"    {s:<10}" + "  ".join(f"{v['gain']:+.4f} [{v['interval'][0]:+.4f}, {v['interval'][1]:+.4f}]" for v in per_k.values()))
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("slice", type=Path)
    p.add_argument("--table", type=Path, default=Path("benchmarks/table"))
    a = p.parse_args()
    r = compare(a.slice, a.table)
    atomic_write_text(a.slice / "transfer.json", json.dumps(r, indent=2, default=float) + "\n")
    print(report(r))


if __name__ == "__main__":
    main()
