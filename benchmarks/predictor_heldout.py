"""The predictor on architectures it was not designed on: fitted on benchmark-table rows, judged on
the trials of real searches (architectures REINFORCE proposed, not in the table).

The structural features (`search_space.structure`) were chosen while looking at the table, so a
held-out split of the table is not a clean test of them. Searches' trials are: other
architectures (a learning controller's, not uniform draws), other runs, the same proxy and seed 0
as the table's `seed0` column. For each training size n (and all rows) and each of `--splits`
random draws of n table rows: Kendall tau between the predictor's means and the trials' rewards,
per encoding; the median, the 2.5-97.5 percentiles over draws, and at all rows a 95% bootstrap
interval over the held-out architectures.

Run: .venv/bin/python benchmarks/predictor_heldout.py --table benchmarks/table \\
         --trials 'benchmarks/runs/screen-headline-2026-12-06/*-seed*/trials.csv' --out benchmarks/runs/predictor-2026-12-07
"""

from __future__ import annotations

import argparse
import glob
import json
from pathlib import Path

import numpy as np
import pandas as pd

from nas.core.ranking import bootstrap_interval, kendall_tau
from nas.screening.predictor import ENCODINGS, Predictor
from predictor_curve import SPACE, load_rows

SIZES = (8, 16, 32, 64, 128)


def held_out_trials(pattern: str, seen: set[str]) -> tuple[list, np.ndarray, list[str]]:
    """Every finished trial of the matching trials.csv files whose architecture is not in `seen`
    (first result of an architecture kept), with its reward and its search folder."""
    archs, rewards, where, ids = [], [], [], set(seen)
    for f in sorted(glob.glob(pattern)):
        t = pd.read_csv(f)
        for actions, arch_id, reward in zip(t["actions"], t["arch_id"], t["reward"].where(t["status"] == "ok")):
            if arch_id in ids or not np.isfinite(reward):
                continue
            arch = SPACE.decode([int(x) for x in str(actions).split()])
            if arch.id != arch_id:
                raise SystemExit(f"{f}: the actions of {arch_id} decode to {arch.id}: another space or version")
            ids.add(arch_id)
            archs.append(arch)
            rewards.append(float(reward))
            where.append(Path(f).parent.name)
    return archs, np.asarray(rewards), where


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", type=Path, default=Path("benchmarks/table"))
    ap.add_argument("--trials", required=True, help="glob of the searches' trials.csv files")
    ap.add_argument("--splits", type=int, default=20)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    archs, y, _ = load_rows(args.table, SPACE)
    test, ty, where = held_out_trials(args.trials, {a.id for a in archs})
    rng = np.random.default_rng(0)
    result: dict = {"table_rows": len(archs), "held_out": len(test), "searches": sorted(set(where)), "splits": args.splits, "curve": {}}
    for n in SIZES:
        draws = [rng.choice(len(archs), n, replace=False) for _ in range(args.splits)]
        row = {}
        for enc in ENCODINGS:
            taus = [kendall_tau(Predictor(SPACE, "gbr", seed=s, encoding=enc).fit([archs[i] for i in d], y[d]).predict(test)[0], ty) for s, d in enumerate(draws)]
            row[enc] = {"median": float(np.median(taus)), "low": float(np.percentile(taus, 2.5)), "high": float(np.percentile(taus, 97.5))}
        result["curve"][str(n)] = row
        print(f"n={n}: " + ", ".join(f"{e} {r['median']:+.3f} [{r['low']:+.2f}, {r['high']:+.2f}]" for e, r in row.items()), flush=True)
    result["all_rows"] = {}
    for enc in ENCODINGS:
        pred = Predictor(SPACE, "gbr", encoding=enc).fit(archs, y).predict(test)[0]
        lo, hi = bootstrap_interval(kendall_tau, pred, ty)
        by_search = {s: kendall_tau(pred[np.array(where) == s], ty[np.array(where) == s]) for s in sorted(set(where))}
        result["all_rows"][enc] = {"tau": kendall_tau(pred, ty), "interval": [lo, hi], "by_search": by_search}
        print(f"all {len(archs)} rows, {enc}: tau {kendall_tau(pred, ty):+.3f} [{lo:+.3f}, {hi:+.3f}] over {len(test)} held-out trials; per search "
              + ", ".join(f"{s} {t:+.2f}" for s, t in by_search.items()))  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "heldout.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
