"""The predictor's learning curve on the benchmark table, against FLOPs and the best zero-cost score.

For each training size n (8, 16, 32, 64, 128 rows, as far as the table allows while keeping at least
`--min-test` rows held out) and each of `--splits` random splits: fit the predictor on n
architectures of the table (those in the space: the R50-FPN anchor is not) and measure Kendall's tau
between its predictions and the mean AP on the held-out rows; every predictor kind with each
encoding (`structure`: the graph's features, `adjacency`: the decisions one-hot). Beside it, on the same held-out rows:
FLOPs alone, and the zero-cost score that ranked the n training rows best (chosen on the training
rows only, so the comparison is fair to the predictor). Reported: median and mean tau and the
2.5-97.5 percentile range over splits.

Then the kind and encoding with the higher median tau at 32 rows (what a search has by its middle)
is fitted on every row and saved as
`<table>/predictor.npz` (the default predictor of `spinenas screen`).

Run: .venv/bin/python benchmarks/predictor_curve.py --table benchmarks/table   (after zero_cost_rank.py)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from nas.core.ranking import kendall_tau
from nas.reporting.bench_table import table_of
from nas.screening.predictor import ENCODINGS, KINDS, Predictor
from proxy_tasks.zero_cost import ZERO_COST
from search_space import load_architecture
from search_space.fileio import atomic_write_text
from search_space.space import get_space
from search_space.spec import SpecError

SIZES = (8, 16, 32, 64, 128)
EXTRAS = ("flops", "params", "synflow", "naswot", "grad_norm", "snip", "zen")


def load_rows(folder: Path, space) -> tuple[list, np.ndarray, pd.DataFrame]:  # noqa: ANN001
    """The table's architectures with every seed that are in `space`, their mean AP, and their zero-cost scores."""
    table = table_of(folder)
    table = table[table["seeds"] >= table["seeds"].max()]
    scores = pd.read_csv(folder / "zero_cost.csv", dtype={"arch_id": str})
    table = table.merge(scores, on="arch_id", suffixes=("_table", ""))
    archs, keep = [], []
    for i, arch_id in enumerate(table["arch_id"]):
        arch = load_architecture(folder / "archs" / f"{arch_id}.yaml")
        try:
            space.encode(arch)
        except SpecError:
            continue
        archs.append(arch)
        keep.append(i)
    return archs, table["AP"].to_numpy(dtype=float)[keep], table.iloc[keep].reset_index(drop=True)


def finite(x: np.ndarray) -> np.ndarray:
    return np.where(np.isinf(x), np.sign(x) * np.finfo(float).max, x)


def curve(archs, ap, rows, sizes, splits, min_test, kinds=KINDS, seed=0):  # noqa: ANN001, ANN201
    extras = np.column_stack([finite(rows[c].to_numpy(dtype=float)) for c in EXTRAS])
    flops = rows["flops_table"].to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    fitted = [(k, e) for k in kinds for e in ENCODINGS]
    out: dict[str, dict[str, dict]] = {}
    for n in sizes:
        if n > len(archs) - min_test:
            continue
        taus: dict[str, list[float]] = {f"{k}/{e}": [] for k, e in fitted} | {k: [] for k in ("gbr/structure+scores", "flops", "best zero-cost")}
        for s in range(splits):
            order = rng.permutation(len(archs))
            tr, te = order[:n], order[n:]
            tr_archs, te_archs = [archs[i] for i in tr], [archs[i] for i in te]
            for kind, enc in fitted:
                p = Predictor(SPACE, kind, seed=s, encoding=enc).fit(tr_archs, ap[tr])
                taus[f"{kind}/{enc}"].append(kendall_tau(p.predict(te_archs)[0], ap[te]))
            p = Predictor(SPACE, "gbr", EXTRAS, seed=s).fit(tr_archs, ap[tr], extras[tr])
            taus["gbr/structure+scores"].append(kendall_tau(p.predict(te_archs, extras[te])[0], ap[te]))
            taus["flops"].append(kendall_tau(flops[te], ap[te]))
            best = max(ZERO_COST, key=lambda k: np.nan_to_num(kendall_tau(finite(rows[k].to_numpy(dtype=float))[tr], ap[tr]), nan=-2))
            taus["best zero-cost"].append(kendall_tau(finite(rows[best].to_numpy(dtype=float))[te], ap[te]))
        out[str(n)] = {k: {"median": float(np.nanmedian(v)), "mean": float(np.nanmean(v)), "low": float(np.nanpercentile(v, 2.5)),
                           "high": float(np.nanpercentile(v, 97.5)), "splits": len(v)} for k, v in taus.items()}  # fmt: skip
        print(f"n={n}: " + ", ".join(f"{k} {d['median']:+.3f}" for k, d in out[str(n)].items()), flush=True)
    return out


def markdown(result: dict, held_out_min: int) -> str:
    methods = list(next(iter(result.values())))
    lines = ["| training rows | " + " | ".join(methods) + " |", "|---" * (len(methods) + 1) + "|"]
    for n, row in result.items():
        lines.append(f"| {n} | " + " | ".join(f"{row[m]['median']:+.3f} [{row[m]['low']:+.2f}, {row[m]['high']:+.2f}]" for m in methods) + " |")
    return "\n".join(lines)


SPACE = get_space("r0_sp53", block_adjustments=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, default=Path("benchmarks/table"))
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--min-test", type=int, default=20, help="rows held out at least")
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    archs, ap, rows = load_rows(args.table, SPACE)
    t = time.perf_counter()
    result = curve(archs, ap, rows, SIZES, args.splits, args.min_test, tuple(args.kinds))
    at32 = result["32"]
    kind, enc = max(((k, e) for k in args.kinds for e in ENCODINGS), key=lambda ke: at32[f"{ke[0]}/{ke[1]}"]["median"])
    Predictor(SPACE, kind, encoding=enc).fit(archs, ap).save(args.table / "predictor.npz")
    summary = {"architectures": len(archs), "splits": args.splits, "curve": result, "chosen_kind": kind, "chosen_encoding": enc,
               "seconds": time.perf_counter() - t}  # fmt: skip
    atomic_write_text(args.table / "predictor_curve.json", json.dumps(summary, indent=2) + "\n")
    print(markdown(result, args.min_test))
    print(f"chosen: {kind}/{enc} (highest median tau at 32 rows), fitted on {len(archs)} rows -> {args.table / 'predictor.npz'}")


if __name__ == "__main__":
    main()
