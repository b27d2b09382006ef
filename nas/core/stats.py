"""Fresh-seed statistics of a finished search's candidates against baselines (`spinenas finalize`).

Scores of one architecture under several seeds are summarised by mean, sample std (n - 1) and n.
A candidate is compared with a baseline by the difference of means, that difference in pooled seed
std (the gap), and Welch's t-test (scipy.stats, unequal variances). The verdict needs both a margin
and significance (`VERDICT_RULE`): a gap of more than `CLEAR_GAP` pooled stds *and* a one-sided
Welch p below `ALPHA` in the same direction. Scores of different architectures under the same seed
are not paired: a seed fixes the data order, but two architectures' initialisations from it are
unrelated, so nothing ties their outcomes together.
"""

from __future__ import annotations

import math
import warnings
from typing import Sequence

import numpy as np
from scipy import stats

CLEAR_GAP = 2.0  # a difference of more than two pooled seed stds is one a user can rely on...
ALPHA = 0.05  # ...when it is also significant: one-sided Welch p below this
VERDICT_RULE = f"better (worse): gap > {CLEAR_GAP:g} (< -{CLEAR_GAP:g}) pooled std and one-sided Welch p < {ALPHA:g}"


def summary(values: Sequence[float]) -> dict[str, float | int | None]:
    """Mean, sample std and count of the finite `values` (None where undefined)."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    return {
        "mean": float(v.mean()) if len(v) else None,
        "std": float(v.std(ddof=1)) if len(v) > 1 else None,
        "n": int(len(v)),
    }


def pooled_std(a: Sequence[float], b: Sequence[float]) -> float:
    """sqrt(((n_a - 1) s_a^2 + (n_b - 1) s_b^2) / (n_a + n_b - 2)); NaN with fewer than 3 values."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    dof = len(a) + len(b) - 2
    if dof < 1:
        return math.nan
    ss = (len(a) - 1) * (a.var(ddof=1) if len(a) > 1 else 0.0) + (len(b) - 1) * (b.var(ddof=1) if len(b) > 1 else 0.0)
    return float(math.sqrt(ss / dof))


def compare(candidate: Sequence[float], baseline: Sequence[float]) -> dict[str, float | str | None]:
    """Candidate against baseline: difference of means, gap in pooled std, Welch's p (two-sided,
    and one-sided in the direction of the difference), and the verdict of `VERDICT_RULE`: `better`,
    `worse` or `no clear difference`; with fewer than two values on a side `too few seeds`."""
    a = np.asarray([x for x in candidate if math.isfinite(x)], dtype=float)
    b = np.asarray([x for x in baseline if math.isfinite(x)], dtype=float)
    if len(a) < 2 or len(b) < 2:
        diff = float(a.mean() - b.mean()) if len(a) and len(b) else None
        return {"difference": diff, "pooled_std": None, "gap": None, "p_value": None, "p_one_sided": None, "verdict": "too few seeds"}
    diff = float(a.mean() - b.mean())
    pooled = pooled_std(a, b)
    gap = diff / pooled if pooled > 0 else (math.copysign(math.inf, diff) if diff else 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # identical samples: p is NaN
        p = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
        one = float(stats.ttest_ind(a, b, equal_var=False, alternative="greater" if diff >= 0 else "less").pvalue)
    significant = math.isfinite(one) and one < ALPHA
    verdict = "better" if gap > CLEAR_GAP and significant else "worse" if gap < -CLEAR_GAP and significant else "no clear difference"
    return {"difference": diff, "pooled_std": pooled, "gap": finite_or_none(gap), "p_value": finite_or_none(p), "p_one_sided": finite_or_none(one), "verdict": verdict}


def finite_or_none(x: float) -> float | None:
    """`x` as a float for JSON, None where it is NaN or infinite."""
    x = float(x)
    return x if math.isfinite(x) else None
