"""What a screen buys per trial on the real proxy, measured on the benchmark table without training.

A screen trains the best of K proposals by its score. On the table (uniform draws of the default
space, each with its mean proxy AP over 2 seeds) the expected AP of that pick has a closed form: with
the n architectures sorted by score, best first, the i-th best is the pick of a uniform K-subset
with probability C(n - i, K - 1) / C(n, K). Random search trains a uniform draw: the pool's mean AP.
The gain of a screen is the difference, in AP and in units of the pool's AP std.

- zero-cost screens (`screen=zero_cost screen.score=...`) and FLOPs/params: the table's scores
  (`zero_cost.csv`), 95% intervals by a bootstrap over architectures (the pool resampled);
- the predictor screen (`screen=predictor`, kappa 0 and 1) after n trained rows: fitted on n random
  rows, the pick among K of the others; mean and 2.5-97.5 percentiles over `--splits` random
  training sets (with the pool's own sampling noise on top, not shown).

Run: .venv/bin/python benchmarks/screen_on_table.py --table benchmarks/table   (after zero_cost_rank.py)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy.special import gammaln

from nas.screening.predictor import Predictor
from search_space.fileio import atomic_write_text
from search_space.space import get_space

from predictor_curve import EXTRAS, finite, load_rows  # noqa: E402  (benchmarks/ is the script's folder)

SPACE = get_space("r0_sp53", block_adjustments=True)
KS = (4, 8, 16, 32)
SCORES = ("flops", "params", "naswot", "grad_norm", "synflow", "snip", "zen")


def pick_weights(n: int, k: int) -> np.ndarray:
    """P(the i-th best of n is the best of a uniform k-subset), i = 1..n: C(n-i, k-1) / C(n, k)."""
    i = np.arange(1, n + 1)
    with np.errstate(invalid="ignore"):
        log_w = gammaln(n - i + 1) - gammaln(k) - gammaln(n - i - k + 2) - (gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1))
    return np.where(n - i >= k - 1, np.exp(log_w), 0.0)


def expected_pick(ap: np.ndarray, score: np.ndarray, k: int) -> float:
    """Expected AP of the highest-scored of a uniform k-subset (ties broken at random: averaged)."""
    order = np.argsort(-score, kind="stable")
    return float(pick_weights(len(ap), k) @ ap[order])


def zero_cost_gains(ap: np.ndarray, scores: dict[str, np.ndarray], boot: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    samples = [rng.integers(0, len(ap), len(ap)) for _ in range(boot)]
    out: dict = {}
    for name, s in scores.items():
        out[name] = {}
        for k in KS:
            gain = expected_pick(ap, s, k) - ap.mean()
            dist = np.array([expected_pick(ap[b], s[b], k) - ap[b].mean() for b in samples])
            lo, hi = np.percentile(dist, [2.5, 97.5])
            out[name][str(k)] = {"gain": gain, "ci": [float(lo), float(hi)], "gain_std": gain / ap.std(ddof=1)}
    return out


def predictor_gains(archs: list, ap: np.ndarray, extras: np.ndarray, sizes: tuple[int, ...], splits: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    out: dict = {}
    for n in sizes:
        if n > len(ap) - max(KS):
            continue
        vals: dict[str, dict[int, list[float]]] = {v: {k: [] for k in KS} for v in ("kappa0", "kappa1", "scores_kappa0")}
        for s in range(splits):
            order = rng.permutation(len(ap))
            tr, te = order[:n], order[n:]
            p = Predictor(SPACE, "gbr", seed=s).fit([archs[i] for i in tr], ap[tr])
            mean, spread = p.predict([archs[i] for i in te])
            q = Predictor(SPACE, "gbr", EXTRAS, seed=s).fit([archs[i] for i in tr], ap[tr], extras[tr])
            mean_x, _ = q.predict([archs[i] for i in te], extras[te])
            for k in KS:
                base = ap[te].mean()
                vals["kappa0"][k].append(expected_pick(ap[te], mean, k) - base)
                vals["kappa1"][k].append(expected_pick(ap[te], mean + spread, k) - base)
                vals["scores_kappa0"][k].append(expected_pick(ap[te], mean_x, k) - base)
        out[str(n)] = {
            v: {str(k): {"gain": float(np.mean(x)), "range": [float(np.percentile(x, 2.5)), float(np.percentile(x, 97.5))], "gain_std": float(np.mean(x) / ap.std(ddof=1))} for k, x in per_k.items()}
            for v, per_k in vals.items()
        }
    return out


def main() -> None:
    ap_ = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap_.add_argument("--table", type=Path, default=Path("benchmarks/table"))
    ap_.add_argument("--boot", type=int, default=2000)
    ap_.add_argument("--splits", type=int, default=20)
    ap_.add_argument("--sizes", default="10,20,30")
    ap_.add_argument("--seed", type=int, default=0)
    args = ap_.parse_args()
    t0 = time.perf_counter()
    archs, ap, rows = load_rows(args.table, SPACE)
    drawn = (rows["kind"] == "sampled").to_numpy()
    archs = [a for a, d in zip(archs, drawn) if d]  # the uniform draws: what a random search trains
    ap, rows = ap[drawn], rows[drawn].reset_index(drop=True)
    scores = {name: finite(rows[name].to_numpy(dtype=float)) for name in SCORES}
    extras = np.column_stack([finite(rows[c].to_numpy(dtype=float)) for c in EXTRAS])
    result = {
        "table": str(args.table),
        "architectures": len(ap),
        "pool_AP": {"mean": float(ap.mean()), "std": float(np.std(ap, ddof=1)), "max": float(ap.max())},
        "K": list(KS),
        "zero_cost": zero_cost_gains(ap, scores, args.boot, args.seed),
        "predictor": predictor_gains(archs, ap, extras, tuple(int(s) for s in args.sizes.split(",")), args.splits, args.seed),
        "seconds": 0.0,
    }
    result["seconds"] = time.perf_counter() - t0
    atomic_write_text(args.table / "screen_gain.json", json.dumps(result, indent=2) + "\n")
    print(f"{len(ap)} uniform draws: pool AP {ap.mean():.4f} +- {np.std(ap, ddof=1):.4f}; gain of the screen's pick over a random one (AP), K = {', '.join(map(str, KS))}")
    for name, per_k in result["zero_cost"].items():
        print(f"  {name:<22}" + "  ".join(f"{v['gain']:+.4f} [{v['ci'][0]:+.4f}, {v['ci'][1]:+.4f}]" for v in per_k.values()))
    for n, variants in result["predictor"].items():
        for v, per_k in variants.items():
            print(f"  predictor n={n:<3} {v:<14}" + "  ".join(f"{x['gain']:+.4f} [{x['range'][0]:+.4f}, {x['range'][1]:+.4f}]" for x in per_k.values()))
    print(f"({result['seconds']:.0f} s) -> {args.table / 'screen_gain.json'}")


if __name__ == "__main__":
    main()
