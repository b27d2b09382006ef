"""Fresh-seed statistics of a finished search's candidates against baselines (`spinenas finalize`).

Scores of one architecture under several seeds are summarised by mean, sample std (n - 1) and n.
The pick is compared with each baseline by the difference of means, that difference in seed std
(the gap) and Welch's t-test (scipy.stats, unequal variances). One std serves both: the seed std
is sqrt((s_a^2 + s_b^2) / 2), the one Welch's statistic is built from (with n seeds a side,
t = gap * sqrt(n / 2)). The question is fixed before the runs are seen: is the pick better than
the baseline (one-sided, `alternative="greater"`)? The p values of the baselines are adjusted
together (Holm), so a "better" against any of them is at the stated level. The verdict
(`VERDICT_RULE`) needs a margin and significance: a gap of more than `CLEAR_GAP` seed stds *and*
a Holm-adjusted one-sided p below `ALPHA`. "worse" is the mirror question (pick below the
baseline), a second family asked and adjusted the same way: "better" and "worse" are each at the
stated level, some verdict at up to twice it. `chance_of_verdict` measures how often the rule gives
a verdict when nothing differs. Scores of different architectures under the same seed are not
paired: a seed fixes the data order, but two architectures' initialisations from it are unrelated.
"""

from __future__ import annotations

import math
import warnings
from typing import Mapping, Sequence, Union

import numpy as np
import numpy.typing as npt
from scipy import stats

Values = Union[Sequence[float], npt.NDArray[np.float64]]  # scores, as a list or an array

CLEAR_GAP = 2.0  # a difference of more than two seed stds is one a user can rely on...
ALPHA = 0.05  # ...when it is also significant: one-sided Welch p (Holm-adjusted over the baselines) below this
VERDICT_RULE = (
    f"better (worse): gap > {CLEAR_GAP:g} (< -{CLEAR_GAP:g}) seed std and one-sided Welch p, Holm-adjusted over the baselines, < {ALPHA:g}"
)


def summary(values: Sequence[float]) -> dict[str, float | int | None]:
    """Mean, sample std and count of the finite `values` (None where undefined)."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    return {
        "mean": float(v.mean()) if len(v) else None,
        "std": float(v.std(ddof=1)) if len(v) > 1 else None,
        "n": int(len(v)),
    }


def seed_std(a: Values, b: Values) -> float:
    """sqrt((s_a^2 + s_b^2) / 2), the sample variances (n - 1) of the two sides averaged unweighted, as
    Welch's statistic weighs them at equal n; NaN when a side has fewer than 2 values."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(x) < 2 or len(y) < 2:
        return math.nan
    return float(math.sqrt((x.var(ddof=1) + y.var(ddof=1)) / 2))


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment of a family of p values (None: not tested, left out): the k-th
    smallest of m is multiplied by m - k + 1, then made non-decreasing and capped at 1. Written out
    here (six lines) rather than adding statsmodels for `multipletests(method="holm")`."""
    tested = sorted((p, i) for i, p in enumerate(pvalues) if p is not None and math.isfinite(p))
    out: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for k, (p, i) in enumerate(tested):
        running = max(running, min(1.0, (len(tested) - k) * p))
        out[i] = running
    return out


def compare(candidate: Sequence[float], baseline: Sequence[float]) -> dict[str, float | str | None]:
    """The pick against one baseline (a family of one: see `compare_all` for several)."""
    return compare_all(candidate, {"baseline": baseline})["baseline"]


def compare_all(candidate: Sequence[float], baselines: Mapping[str, Sequence[float]]) -> dict[str, dict[str, float | str | None]]:
    """The candidate against each baseline: difference of means, seed std, gap, Welch's two-sided p,
    the one-sided p of "candidate better" (`p_one_sided`) and of "candidate worse" (`p_worse`), both
    Holm-adjusted over the baselines (`p_holm`, `p_worse_holm`), and the verdict of `VERDICT_RULE`:
    `better`, `worse` or `no clear difference`; with fewer than two values on a side `too few seeds`."""
    a = np.asarray([x for x in candidate if math.isfinite(x)], dtype=float)
    out: dict[str, dict[str, float | str | None]] = {}
    gaps: dict[str, float] = {}  # the raw gap (infinite where neither side spreads), judged below; the record keeps it finite or None
    for name, values in baselines.items():
        b = np.asarray([x for x in values if math.isfinite(x)], dtype=float)
        diff = float(a.mean() - b.mean()) if len(a) and len(b) else None
        if len(a) < 2 or len(b) < 2:
            out[name] = {"difference": diff, "seed_std": None, "gap": None, "p_value": None, "p_one_sided": None, "p_worse": None}
            continue
        sd = seed_std(a, b)
        assert diff is not None  # both sides have values here
        gap = diff / sd if sd > 0 else (math.copysign(math.inf, diff) if diff else 0.0)  # no spread on either side: infinite, judged as such
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # identical samples: p is NaN
            p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
            better = float(stats.ttest_ind(a, b, equal_var=False, alternative="greater").pvalue)
            worse = float(stats.ttest_ind(a, b, equal_var=False, alternative="less").pvalue)
        out[name] = {"difference": diff, "seed_std": sd, "gap": finite_or_none(gap), "p_value": finite_or_none(p),
                     "p_one_sided": finite_or_none(better), "p_worse": finite_or_none(worse)}  # fmt: skip
        gaps[name] = gap
    names = list(out)
    adjusted = holm([out[n]["p_one_sided"] for n in names])  # type: ignore[misc]
    adjusted_worse = holm([out[n]["p_worse"] for n in names])  # type: ignore[misc]
    for n, p_b, p_w in zip(names, adjusted, adjusted_worse):
        c = out[n]
        c["p_holm"], c["p_worse_holm"] = p_b, p_w
        judged = gaps.get(n)
        if judged is None:
            c["verdict"] = "too few seeds"
        elif judged > CLEAR_GAP and p_b is not None and p_b < ALPHA:
            c["verdict"] = "better"
        elif judged < -CLEAR_GAP and p_w is not None and p_w < ALPHA:
            c["verdict"] = "worse"
        else:
            c["verdict"] = "no clear difference"
    return out


def chance_of_verdict(n_candidate: int, n_baseline: int, baselines: int, draws: int = 20000, seed: int = 0) -> dict[str, float]:
    """How often `compare_all` says "better" (against a given baseline, and against any) and
    gives any verdict at all, when the candidate and every baseline score alike (normal seed noise,
    equal variances): measured by drawing `draws` such finalizes with a fixed seed. The rule is
    scale-free, so unit noise stands for any."""
    rng = np.random.default_rng(seed)
    cand = rng.standard_normal((draws, n_candidate))
    base = rng.standard_normal((baselines, draws, n_baseline))
    ma, va = cand.mean(1), cand.var(1, ddof=1)
    better = np.zeros((baselines, draws))
    worse = np.zeros((baselines, draws))
    gaps = np.zeros((baselines, draws))
    for j in range(baselines):  # compare_all's Welch tests and seed-std gap, each draw a row
        better[j] = stats.ttest_ind(cand, base[j], axis=1, equal_var=False, alternative="greater").pvalue
        worse[j] = stats.ttest_ind(cand, base[j], axis=1, equal_var=False, alternative="less").pvalue
        gaps[j] = (ma - base[j].mean(1)) / np.sqrt((va + base[j].var(1, ddof=1)) / 2)
    m = baselines  # Holm, vectorised: the k-th smallest times m - k + 1, running maximum
    adj_b, adj_w = _holm_rows(better.T, m).T, _holm_rows(worse.T, m).T
    says_better = (gaps > CLEAR_GAP) & (adj_b < ALPHA)
    says_worse = (gaps < -CLEAR_GAP) & (adj_w < ALPHA)
    return {
        "better_vs_first": float(says_better[0].mean()),
        "better_vs_any": float(says_better.any(axis=0).mean()),
        "any_verdict": float((says_better | says_worse).any(axis=0).mean()),
        "draws": draws,
    }


def _holm_rows(p: np.ndarray, m: int) -> np.ndarray:
    order = np.argsort(p, axis=1)
    ranked = np.take_along_axis(p, order, axis=1) * (m - np.arange(m))
    ranked = np.minimum(1.0, np.maximum.accumulate(ranked, axis=1))
    out = np.empty_like(p)
    np.put_along_axis(out, order, ranked, axis=1)
    return out


def finite_or_none(x: float) -> float | None:
    """`x` as a float for JSON, None where it is NaN or infinite."""
    x = float(x)
    return x if math.isfinite(x) else None


def number(x: float | None, fmt: str = ".2f", missing: str = "n/a") -> str:
    """`x` formatted for a report, `missing` where there is none (None, NaN)."""
    return missing if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)
