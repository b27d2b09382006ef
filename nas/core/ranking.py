"""Rank agreement and signal-to-noise of proxy scores: the numbers `spinenas fidelity` reports.

Scores come as a table `(architectures, seeds)`; NaN marks a run that failed or is missing.
Every statistic here is computed on the architectures that have all the values it needs; the
correlations are Kendall's tau-b and Spearman's rho as scipy.stats defines them (tau over up to 100
architectures by an all-pairs array form, held to scipy's value by tests, and fast in a bootstrap).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Callable

import numpy as np
from scipy import stats


def kendall_tau(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall's tau-b of two score vectors; pairs where either value is NaN are left out; NaN with
    fewer than 2 pairs or a constant vector. Up to `PAIRWISE_MAX` pairs by the same arithmetic as
    its bootstrap (`kendall_tau_batched`), so that an interval whose resamples all agree holds the
    estimate to the last bit (scipy's value differs in the last bit or two); above, scipy's."""
    return _correlation(_tau_b, a, b)


@dataclass(frozen=True)
class _Statistic:
    statistic: float


def _tau_b(a: np.ndarray, b: np.ndarray) -> Any:  # what _correlation reads: `.statistic`
    """Tau-b of two NaN-free vectors: the all-pairs form up to `PAIRWISE_MAX`, scipy's above."""
    return _Statistic(float(kendall_tau_batched(a, b))) if len(a) <= PAIRWISE_MAX else stats.kendalltau(a, b)


def kendall_tau_batched(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    """Kendall's tau-b of many pairs of score vectors at once, along `axis` (no NaN): the sum over
    pairs of sign products over the root of both sides' untied pairs, as scipy.stats.kendalltau
    defines it (NaN where a side is constant). What a bootstrap computes 2,000 times: one array
    operation instead of 2,000 scipy calls (tests hold it to scipy's value, ties included)."""
    a, b = np.moveaxis(np.asarray(a, dtype=float), axis, -1), np.moveaxis(np.asarray(b, dtype=float), axis, -1)
    da, db = _signs(a), _signs(b)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (da * db).sum(axis=(-2, -1), dtype=np.int64) / np.sqrt(np.abs(da).sum(axis=(-2, -1), dtype=np.int64) * np.abs(db).sum(axis=(-2, -1), dtype=np.int64))


def _signs(x: np.ndarray) -> np.ndarray:
    """sign(x_i - x_j) over all ordered pairs, by comparison (an infinite score ranks as scipy ranks
    it; a difference of two would be NaN), one byte each."""
    above, below = x[..., :, None] > x[..., None, :], x[..., :, None] < x[..., None, :]
    return above.astype(np.int8) - below.astype(np.int8)


# Up to this many architectures the all-pairs tau is faster than scipy's O(n log n) one per resample
# (measured 2026-12-07 on a 2-core AMD EPYC, AVX2: 0.05 s against 0.94 s for 2,000 resamples of 30; at 150, even).
PAIRWISE_MAX = 100


def _batch(n: int) -> int:
    """Resamples per vectorized call: about 8 million pair entries (bytes) in memory at a time."""
    return max(1, 8_000_000 // max(1, n * n))


def spearman_rho(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho (Pearson correlation of average ranks), NaN pairs left out as in `kendall_tau`."""
    return _correlation(stats.spearmanr, a, b)


def seed_agreement(table: np.ndarray) -> dict[str, float]:
    """Mean Kendall tau and Spearman rho over all pairs of seed columns of `table` (archs x seeds)."""
    table = np.asarray(table, dtype=float)
    pairs = list(combinations(range(table.shape[1]), 2))
    if not pairs:
        return {"kendall_tau": float("nan"), "spearman_rho": float("nan"), "pairs": 0}
    taus = [kendall_tau(table[:, i], table[:, j]) for i, j in pairs]
    rhos = [spearman_rho(table[:, i], table[:, j]) for i, j in pairs]
    return {"kendall_tau": _nanmean(taus), "spearman_rho": _nanmean(rhos), "pairs": len(pairs)}


def signal_to_noise(table: np.ndarray) -> float:
    """Std over architectures of their mean score / mean over architectures of their seed std.

    Both stds use n - 1. Only architectures with every seed are counted; needs 2 of them and 2 seeds.
    Infinite when every architecture scores the same under every seed but architectures differ.
    """
    table = np.asarray(table, dtype=float)
    full = table[~np.isnan(table).any(axis=1)]
    if full.shape[0] < 2 or full.shape[1] < 2:
        return float("nan")
    signal = float(np.std(full.mean(axis=1), ddof=1))
    noise = float(np.mean(np.std(full, axis=1, ddof=1)))
    if noise == 0:
        return float("inf") if signal > 0 else float("nan")
    return signal / noise


def _correlation(statistic: Callable[..., Any], a: np.ndarray, b: np.ndarray) -> float:  # a scipy.stats function
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"score vectors differ in length: {a.shape} vs {b.shape}")
    keep = ~(np.isnan(a) | np.isnan(b))
    if keep.sum() < 2:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)  # a constant vector: NaN, as documented
        return float(statistic(a[keep], b[keep]).statistic)


def _mean_seed_tau(tables: np.ndarray) -> np.ndarray:
    """`seed_agreement`'s Kendall tau alone (the bootstrap needs no Spearman rho), for a stack of
    tables (..., archs, seeds): the mean over seed pairs of the taus that exist (one table of more
    than `PAIRWISE_MAX` architectures: scipy's tau, O(n log n), as `kendall_tau`)."""
    if tables.ndim == 2 and tables.shape[0] > PAIRWISE_MAX:
        return np.asarray(_nanmean([kendall_tau(tables[:, i], tables[:, j]) for i, j in combinations(range(tables.shape[1]), 2)]))
    taus = np.stack([kendall_tau_batched(tables[..., i], tables[..., j]) for i, j in combinations(range(tables.shape[-1]), 2)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # every pair NaN: NaN, as `_nanmean`
        return np.nanmean(taus, axis=0)


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if not np.isnan(v)]
    return float(np.mean(finite)) if finite else float("nan")


def bootstrap_interval(statistic: Callable[..., Any], a: np.ndarray, b: np.ndarray, *, level: float = 0.95, resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """A percentile bootstrap interval of `statistic(a, b)` (e.g. `kendall_tau`) over pairs drawn
    with replacement (scipy.stats.bootstrap, paired); NaN pairs left out; (NaN, NaN) under 3 pairs."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = ~(np.isnan(a) | np.isnan(b))
    a, b = a[keep], b[keep]
    if len(a) < 3:
        return float("nan"), float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # resamples with a constant side give NaN, left out by _percentiles
        fast = statistic is kendall_tau and len(a) <= PAIRWISE_MAX  # the same resamples and values, one array operation per batch
        result = stats.bootstrap(
            (a, b), (lambda x, y, axis=-1: kendall_tau_batched(x, y, axis)) if fast else (lambda x, y: statistic(x, y)), paired=True,
            vectorized=fast, batch=_batch(len(a)) if fast else None, n_resamples=resamples, confidence_level=level, method="percentile",
            rng=np.random.default_rng(seed),
        )  # fmt: skip
    return _percentiles(result, level)


def _percentiles(result: Any, level: float) -> tuple[float, float]:  # a scipy.stats BootstrapResult
    """The percentile interval of a bootstrap distribution with its NaN resamples left out (a
    resample that draws one architecture only has a constant side and no tau; scipy's own interval
    would be NaN then); (NaN, NaN) when every resample is NaN."""
    dist = np.asarray(result.bootstrap_distribution, dtype=float)
    dist = dist[~np.isnan(dist)]
    if not len(dist):
        return float("nan"), float("nan")
    tail = 100 * (1 - level) / 2
    return float(np.percentile(dist, tail)), float(np.percentile(dist, 100 - tail))


def signal_to_noise_corrected(table: np.ndarray) -> float:
    """Signal-to-noise with the seed noise taken out of the signal.

    The variance of the architecture means holds the architectures' true spread plus the noise of a
    mean of n seeds (mean seed variance / n); pure noise scores ~0.6-0.9 on `signal_to_noise`. Here
    signal variance = var(means) - mean(seed variance) / n, floored at 0, and
    SNR = sqrt(signal variance / mean seed variance). Unbiased variances (n - 1) throughout, so the
    noise term is not biased low at 2 seeds as a mean of stds is. NaN under 2 complete
    architectures or 2 seeds; infinite when seeds agree exactly but architectures differ.
    """
    table = np.asarray(table, dtype=float)
    full = table[~np.isnan(table).any(axis=1)]
    if full.shape[0] < 2 or full.shape[1] < 2:
        return float("nan")
    noise_var = float(np.mean(np.var(full, axis=1, ddof=1)))
    signal_var = max(0.0, float(np.var(full.mean(axis=1), ddof=1)) - noise_var / full.shape[1])
    if noise_var == 0:
        return float("inf") if signal_var > 0 else float("nan")
    return float(np.sqrt(signal_var / noise_var))


def kendall_p_greater(a: np.ndarray, b: np.ndarray) -> float:
    """The permutation p of "b ranks like a at all": the chance that a random pairing of the values
    gives a Kendall tau at least as high (scipy.stats.kendalltau, one-sided; its exact null
    distribution of all pairings without ties up to 33 pairs, the normal approximation beyond or
    with ties); NaN pairs left out; NaN under 3 pairs."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = ~(np.isnan(a) | np.isnan(b))
    if keep.sum() < 3:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        return float(stats.kendalltau(a[keep], b[keep], alternative="greater").pvalue)


def seed_tau_interval(table: np.ndarray, *, level: float = 0.95, resamples: int = 1000, seed: int = 0) -> tuple[float, float]:
    """A percentile bootstrap interval of `seed_agreement`'s mean Kendall tau over architectures
    (rows of `table`, archs x seeds, drawn with replacement; rows with a missing seed left out);
    (NaN, NaN) under 3 complete rows or 2 seeds."""
    table = np.asarray(table, dtype=float)
    full = table[~np.isnan(table).any(axis=1)]
    if full.shape[0] < 3 or full.shape[1] < 2:
        return float("nan"), float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = stats.bootstrap(
            (np.arange(len(full)),), lambda idx, axis=-1: _mean_seed_tau(full[idx.astype(int)]), vectorized=len(full) <= PAIRWISE_MAX,
            batch=_batch(len(full)), n_resamples=resamples, confidence_level=level, method="percentile", rng=np.random.default_rng(seed),
        )  # fmt: skip
    return _percentiles(result, level)
