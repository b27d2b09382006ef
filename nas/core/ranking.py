"""Rank agreement and signal-to-noise of proxy scores: the numbers `spinenas fidelity` reports.

Scores come as a table `(architectures, seeds)`; NaN marks a run that failed or is missing.
Every statistic here is computed on the architectures that have all the values it needs.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of `values` (ascending); tied values share the mean of their ranks."""
    values = np.asarray(values, dtype=float)
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    sorted_vals = values[order]
    start = 0
    for end in range(1, len(values) + 1):
        if end == len(values) or sorted_vals[end] != sorted_vals[start]:
            ranks[order[start:end]] = (start + end + 1) / 2  # mean of ranks start+1 .. end
            start = end
    return ranks


def kendall_tau(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall's tau-b of two score vectors (ties counted as in tau-b); NaN with fewer than 2 pairs.

    Pairs where either value is NaN are left out.
    """
    a, b = _paired(a, b)
    if len(a) < 2:
        return float("nan")
    da = np.sign(a[:, None] - a[None, :])
    db = np.sign(b[:, None] - b[None, :])
    upper = np.triu_indices(len(a), k=1)
    da, db = da[upper], db[upper]
    concordance = float(np.sum(da * db))
    untied_a, untied_b = float(np.count_nonzero(da)), float(np.count_nonzero(db))
    if untied_a == 0 or untied_b == 0:
        return float("nan")
    return concordance / np.sqrt(untied_a * untied_b)


def spearman_rho(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho (Pearson correlation of average ranks); NaN with fewer than 2 pairs."""
    a, b = _paired(a, b)
    if len(a) < 2:
        return float("nan")
    ra, rb = average_ranks(a) - (len(a) + 1) / 2, average_ranks(b) - (len(b) + 1) / 2
    denom = np.sqrt(np.sum(ra * ra) * np.sum(rb * rb))
    return float(np.sum(ra * rb) / denom) if denom > 0 else float("nan")


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


def _paired(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"score vectors differ in length: {a.shape} vs {b.shape}")
    keep = ~(np.isnan(a) | np.isnan(b))
    return a[keep], b[keep]


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if not np.isnan(v)]
    return float(np.mean(finite)) if finite else float("nan")
