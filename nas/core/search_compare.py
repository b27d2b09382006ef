"""Comparing search methods, with the search as the unit (issue 44).

A search method is judged by independent searches (search seeds). Each search contributes one number
per question: its final (the mean of its pick's fresh-seed scores) or its best-so-far curve. Runs
retrained from one pick share that pick, so they are not independent replicates (their intraclass
correlation is printed, `icc`): pooling them as if they were inflates n and shrinks p.

- `compare_searches`: methods against baselines (`versus`: all against one) on per-search finals: difference of means, the
  gap in the std of per-search finals (`nas.core.stats.seed_std` over searches), a one-sided
  permutation p of "method better" (exact when the arrangements are few), a bootstrap interval of
  the difference, Holm over the methods, the smallest p the permutation test can give at this many
  searches and the lead the verdict finds 80% of the time (`detectable_gap`), so a "no difference"
  at 3 searches a side reads as what it is (there, no lead can be called at all). Verdict: `better` when the gap is over `CLEAR_GAP` std *and* the adjusted p is
  under `ALPHA` (the finalize rule, on the right unit).
- `anytime`: expected best-so-far against trials (or any cumulative cost), mean over searches with a
  bootstrap interval.
- `sample_efficiency`: the budget the baseline needs to reach its own level at `at` divided by the
  budget the method needs to reach that level, with a bootstrap interval over searches (both arms
  resampled).
"""

from __future__ import annotations

import itertools
import math
import warnings
from typing import Any, Mapping, Sequence

import numpy as np
from scipy import stats
from scipy.special import comb

from nas.core.stats import ALPHA, CLEAR_GAP, Values, finite_or_none, holm, seed_std

RESAMPLES = 4000  # bootstrap and (where not exact) permutation resamples
EXACT_UP_TO = 20000  # arrangements up to which the permutation test enumerates them all


def per_search_finals(runs: Sequence[Sequence[float]]) -> np.ndarray:
    """One number per search: the mean of its finite fresh-seed scores (NaN for a search with none)."""
    return np.array([np.nanmean(np.asarray(r, dtype=float)) if np.isfinite(np.asarray(r, dtype=float)).any() else np.nan for r in runs])


def icc(runs: Sequence[Sequence[float]]) -> float:
    """One-way intraclass correlation ICC(1) of fresh-seed runs grouped by search (equal group sizes):
    the share of the run-to-run variance that is between searches. 0: runs of one search are as
    different as runs of two; near 1: a search's runs are one replicate, not several."""
    groups = [np.asarray(r, dtype=float) for r in runs]
    k = min(len(g) for g in groups)
    if len(groups) < 2 or k < 2:
        return math.nan
    x = np.array([g[:k] for g in groups])
    ms_between = k * x.mean(axis=1).var(ddof=1)
    ms_within = x.var(axis=1, ddof=1).mean()
    return float((ms_between - ms_within) / (ms_between + (k - 1) * ms_within)) if ms_between + ms_within > 0 else math.nan


def permutation_p(method: Values, baseline: Values) -> float:
    """One-sided p of "method's mean above baseline's" by permuting the search labels: exact (every
    arrangement) when there are at most `EXACT_UP_TO`, else `RESAMPLES` random ones (seed 0)."""
    a, b = np.asarray(method, dtype=float), np.asarray(baseline, dtype=float)
    exact = comb(len(a) + len(b), len(a)) <= EXACT_UP_TO
    res = stats.permutation_test(
        (a, b), lambda x, y, axis: np.mean(x, axis=axis) - np.mean(y, axis=axis), permutation_type="independent",
        vectorized=True, n_resamples=np.inf if exact else RESAMPLES, alternative="greater", random_state=0,
    )  # fmt: skip
    return float(res.pvalue)


def smallest_p(n_method: int, n_baseline: int) -> float:
    """The smallest one-sided p the exact permutation test can give: one arrangement in C(n + m, n)."""
    return float(1 / comb(n_method + n_baseline, n_method))


def power_at(gap: float, n_method: int, n_baseline: int, draws: int = 1000, seed: int = 0) -> float:
    """Chance that the verdict says `better` when the method truly leads by `gap` stds of per-search
    finals (normal searches, equal spread), at these numbers of searches, with no other method in the
    family: measured by drawing `draws` comparisons (seed fixed). The exact permutation p where the
    arrangements are few (<= 1000, every draw at once), Welch's t above (they agree closely there)."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((draws, n_method)) + gap
    b = rng.standard_normal((draws, n_baseline))
    sd = np.sqrt((a.var(1, ddof=1) + b.var(1, ddof=1)) / 2)
    g = (a.mean(1) - b.mean(1)) / sd
    if comb(n_method + n_baseline, n_method) <= 1000:
        p = _exact_p_rows(a, b)
    else:
        p = stats.ttest_ind(a, b, axis=1, equal_var=False, alternative="greater").pvalue
    return float(((g > CLEAR_GAP) & (p < ALPHA)).mean())


def _exact_p_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`permutation_p` of each row pair at once: every way to label n of the n + m values "method"."""
    pooled, n = np.concatenate([a, b], axis=1), a.shape[1]
    chosen = np.array(list(itertools.combinations(range(pooled.shape[1]), n)))  # (arrangements, n)
    total = pooled.sum(axis=1, keepdims=True)
    sums = pooled[:, chosen].sum(axis=2)  # (draws, arrangements)
    diffs = sums / n - (total - sums) / b.shape[1]
    observed = a.mean(axis=1, keepdims=True) - b.mean(axis=1, keepdims=True)
    return (diffs >= observed - 1e-12).mean(axis=1)


def detectable_gap(n_method: int, n_baseline: int, power: float = 0.8) -> float:
    """The smallest true lead (in stds of per-search finals) that the verdict calls `better` with
    chance `power` at these numbers of searches (bisection on `power_at`, same draws throughout);
    infinite where no lead can be called (the exact test's smallest p is not under `ALPHA`)."""
    if smallest_p(n_method, n_baseline) >= ALPHA:
        return math.inf
    lo, hi = CLEAR_GAP, CLEAR_GAP + 8.0
    for _ in range(12):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if power_at(mid, n_method, n_baseline) >= power else (mid, hi)
    return hi


def difference_interval(method: Values, baseline: Values, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the difference of means, the searches of each arm resampled
    (seed 0); NaN with fewer than 2 searches a side."""
    a, b = np.asarray(method, dtype=float), np.asarray(baseline, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return math.nan, math.nan
    res = stats.bootstrap((a, b), lambda x, y, axis: np.mean(x, axis=axis) - np.mean(y, axis=axis), vectorized=True,
                          n_resamples=RESAMPLES, confidence_level=level, method="percentile", random_state=0)  # fmt: skip
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def versus(finals: Mapping[str, Sequence[float]], baseline: str) -> list[tuple[str, str]]:
    """The pairs (method, baseline) of every other arm of `finals` against `baseline`."""
    return [(name, baseline) for name in finals if name != baseline]


def compare_searches(finals: Mapping[str, Sequence[float]], pairs: Sequence[tuple[str, str]]) -> dict[str, dict[str, object]]:
    """Each (method, baseline) of `pairs` on per-search finals (`finals`: one number per search per
    arm), the pairs' p values adjusted together (Holm: one family). Each row, keyed `"a vs b"`: n of
    both arms, means, difference and its interval, gap in std of per-search finals, permutation p
    raw and adjusted, the smallest p possible and the lead detectable at 80% power, and the verdict
    (`better`, `no clear difference`, or `too few searches` under 2 a side)."""
    rows: dict[str, dict[str, Any]] = {}
    for name, other in pairs:
        a = np.asarray([x for x in finals[name] if math.isfinite(x)], dtype=float)
        base = np.asarray([x for x in finals[other] if math.isfinite(x)], dtype=float)
        row: dict[str, Any] = {"n": len(a), "n_baseline": len(base),
                                  "mean": finite_or_none(a.mean()) if len(a) else None, "baseline_mean": finite_or_none(base.mean()) if len(base) else None}  # fmt: skip
        if len(a) < 2 or len(base) < 2:
            rows[f"{name} vs {other}"] = {**row, "difference": None, "interval": [None, None], "gap": None, "p": None, "verdict": "too few searches"}
            continue
        sd = seed_std(a, base)
        diff = float(a.mean() - base.mean())
        lo, hi = difference_interval(a, base)
        row.update(difference=diff, interval=[finite_or_none(lo), finite_or_none(hi)], std=sd,
                   gap=finite_or_none(diff / sd) if sd > 0 else None, p=permutation_p(a, base),
                   smallest_p=smallest_p(len(a), len(base)), detectable_gap=finite_or_none(detectable_gap(len(a), len(base))))  # fmt: skip
        rows[f"{name} vs {other}"] = row
    tested = [n for n in rows if rows[n].get("p") is not None]
    for n, p in zip(tested, holm([rows[n]["p"] for n in tested])):
        r = rows[n]
        r["p_holm"] = p
        r["verdict"] = "better" if r["gap"] is not None and r["gap"] > CLEAR_GAP and p is not None and p < ALPHA else "no clear difference"
    return rows


def best_so_far(scores: Sequence[float]) -> np.ndarray:
    """Running maximum of a search's rewards in trial order (a failed trial, NaN, changes nothing)."""
    s = np.asarray(scores, dtype=float)
    return np.fmax.accumulate(np.where(np.isnan(s), -np.inf, s))


def on_grid(costs: Sequence[float], scores: Sequence[float], grid: Sequence[float]) -> np.ndarray:
    """A search's best-so-far read at each budget of `grid`, its trials finishing at cumulative
    `costs` (trials, CPU-hours): the best among the trials finished by then (NaN before the first)."""
    best = best_so_far(scores)
    idx = np.searchsorted(np.asarray(costs, dtype=float), np.asarray(grid, dtype=float), side="right") - 1
    return np.where(idx >= 0, best[np.clip(idx, 0, None)], np.nan)


def anytime(curves: Sequence[np.ndarray], level: float = 0.95) -> dict[str, np.ndarray]:
    """Mean best-so-far over searches at each point of a common grid (`curves`: one row per search,
    e.g. from `on_grid`), with a percentile bootstrap interval over searches (seed 0)."""
    x = np.asarray(curves, dtype=float)
    rng = np.random.default_rng(0)
    q = (1 - level) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # budgets before any search's first trial: NaN, as they should be
        boots = np.nanmean(x[rng.integers(0, len(x), (RESAMPLES, len(x)))], axis=1)
        return {"mean": np.nanmean(x, axis=0), "low": np.nanquantile(boots, q, axis=0), "high": np.nanquantile(boots, 1 - q, axis=0)}


def _needed(mean_curve: np.ndarray, grid: np.ndarray, target: float) -> float:
    hit = np.flatnonzero(mean_curve >= target - 1e-12)
    return float(grid[hit[0]]) if len(hit) else math.inf


def sample_efficiency(method: Sequence[np.ndarray], baseline: Sequence[np.ndarray], grid: Sequence[float], at: float,
                      level: float = 0.95) -> dict[str, float | None]:  # fmt: skip
    """How many times fewer trials (or CPU-hours) the method needs than the baseline to reach the
    baseline's own mean best-so-far at budget `at`: (budget the baseline's mean curve needs) /
    (budget the method's mean curve needs), on `grid`; with a percentile bootstrap interval
    resampling the searches of both arms (seed 0). A method that never reaches the level within the
    grid has ratio 0 (its budget is infinite); `reached_at` is None then."""
    g = np.asarray(grid, dtype=float)
    m, b = np.asarray(method, dtype=float), np.asarray(baseline, dtype=float)
    col = int(np.searchsorted(g, at))

    def ratio(mm: np.ndarray, bb: np.ndarray) -> tuple[float, float]:
        base_mean = np.nanmean(bb, axis=0)
        target = base_mean[col]
        need_b, need_m = _needed(base_mean, g, target), _needed(np.nanmean(mm, axis=0), g, target)
        return need_b / need_m if math.isfinite(need_m) else 0.0, need_m

    rng = np.random.default_rng(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # budgets before any search's first trial
        r, need = ratio(m, b)
        level_at = float(np.nanmean(b, axis=0)[col])
        boots = [ratio(m[rng.integers(0, len(m), len(m))], b[rng.integers(0, len(b), len(b))])[0] for _ in range(RESAMPLES // 4)]
    q = (1 - level) / 2
    return {"ratio": r, "low": float(np.quantile(boots, q)), "high": float(np.quantile(boots, 1 - q)),
            "level": level_at, "reached_at": need if math.isfinite(need) else None}  # fmt: skip


def methods_table(finals: Mapping[str, Sequence[float]], comparisons: Mapping[str, Mapping[str, Any]], efficiency: Mapping[str, Mapping[str, Any]],
                  baseline: str = "random") -> list[str]:  # fmt: skip
    """Markdown lines: per method its mean final and std over searches, then against `baseline` (rows of
    `compare_searches` keyed "m vs baseline") the difference with its interval, the gap, the raw and
    Holm p, and the sample efficiency with its interval (`sample_efficiency`)."""
    lines = [f"| method | mean final | std over searches | vs {baseline}: difference [95%] | gap (std) | permutation p | Holm p | sample efficiency [95%] |",
             "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for name, values in finals.items():
        v = np.asarray(values, dtype=float)
        c, e = comparisons.get(f"{name} vs {baseline}"), efficiency.get(name)
        head = f"| {name} | {v.mean():.4f} | {v.std(ddof=1):.4f} |"
        if c is None or c.get("p") is None or e is None:
            lines.append(head + " | | | | |")
            continue
        lo, hi = c["interval"]
        lines.append(f"{head} {c['difference']:+.4f} [{lo:+.4f}, {hi:+.4f}] | {c['gap']:+.2f} | {c['p']:.3g} | {c['p_holm']:.3g} "
                     f"| {e['ratio']:.2f} [{e['low']:.2f}, {e['high']:.2f}] |")  # fmt: skip
    return lines
