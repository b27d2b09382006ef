"""Rank statistics against hand-computed values."""

import math

import numpy as np
import pytest

from nas.core.ranking import PAIRWISE_MAX, bootstrap_interval, kendall_p_greater, kendall_tau, kendall_tau_batched, seed_agreement, seed_tau_interval, signal_to_noise, spearman_rho


def test_kendall_tau_by_hand():
    # 5 items; pairs discordant between a and b: (1,2) and (4,5) of 10 -> (8 - 2) / 10.
    a = np.array([1, 2, 3, 4, 5.0])
    b = np.array([2, 1, 3, 5, 4.0])
    assert kendall_tau(a, b) == pytest.approx(0.6)
    assert kendall_tau(a, a) == pytest.approx(1.0) and kendall_tau(a, -a) == pytest.approx(-1.0)


def test_kendall_tau_b_with_ties():
    # a = [1, 1, 2], b = [1, 2, 3]: pairs (0,1) tied in a; (0,2), (1,2) concordant.
    # tau_b = 2 / sqrt(2 * 3)
    assert kendall_tau(np.array([1, 1, 2.0]), np.array([1, 2, 3.0])) == pytest.approx(2 / math.sqrt(6))


def test_spearman_rho_by_hand():
    # Ranks differ by d = (1, -1, 0, 1, -1): rho = 1 - 6 * 4 / (5 * 24) = 0.8.
    a = np.array([1, 2, 3, 4, 5.0])
    b = np.array([2, 1, 3, 5, 4.0])
    assert spearman_rho(a, b) == pytest.approx(0.8)


def test_nan_pairs_are_left_out():
    a = np.array([1, 2, np.nan, 4.0])
    b = np.array([1, 2, 3, np.nan])
    assert kendall_tau(a, b) == pytest.approx(1.0)
    assert math.isnan(kendall_tau(np.array([1.0, np.nan]), np.array([1.0, 2.0])))
    assert math.isnan(spearman_rho(np.array([1.0, 1.0, 1.0]), np.array([1.0, 2.0, 3.0])))  # constant: no ranking


def test_seed_agreement_averages_seed_pairs():
    table = np.array([[1, 1, 2], [2, 2, 1], [3, 3, 3.0]])  # seeds 0,1 agree; seed 2 swaps the first two
    got = seed_agreement(table)
    assert got["pairs"] == 3
    assert got["kendall_tau"] == pytest.approx((1 + 1 / 3 + 1 / 3) / 3)


def test_signal_to_noise_by_hand():
    # Means 0.1, 0.2, 0.3 (std 0.1); every row's seed std is 0.01 * sqrt(2) / ... computed explicitly.
    table = np.array([[0.09, 0.11], [0.19, 0.21], [0.29, 0.31]])
    noise = np.std([0.09, 0.11], ddof=1)
    assert signal_to_noise(table) == pytest.approx(0.1 / noise)
    # A row with a missing seed is not counted.
    assert signal_to_noise(np.vstack([table, [0.9, np.nan]])) == pytest.approx(0.1 / noise)
    assert math.isinf(signal_to_noise(np.array([[0.1, 0.1], [0.2, 0.2]])))
    assert math.isnan(signal_to_noise(np.array([[0.1, 0.2]])))


def test_noise_corrected_snr_removes_the_noise_in_the_means():
    from nas.core.ranking import signal_to_noise_corrected

    rng = np.random.default_rng(0)
    noise = [signal_to_noise_corrected(rng.normal(0, 1, (7, 2))) for _ in range(2000)]
    raw = [signal_to_noise(rng.normal(0, 1, (7, 2))) for _ in range(2000)]
    assert 0.6 < np.mean(raw) < 1.0  # pure noise looks like signal to the plain ratio
    assert np.mean(noise) < 0.35 and np.median(noise) < 0.2  # and mostly vanishes here (floored at 0)
    # Known signal: architecture means 0, 1, 2, 3 (variance 5/3), seed noise variance 0.25 at 4 seeds.
    true = np.repeat(np.arange(4.0)[:, None], 4, axis=1) + rng.normal(0, 0.5, (4, 4))
    est = np.mean([signal_to_noise_corrected(np.repeat(np.arange(12.0)[:, None], 4, axis=1) + rng.normal(0, 0.5, (12, 4))) for _ in range(500)])
    assert est == pytest.approx(np.sqrt(np.var(np.arange(12.0), ddof=1) / 0.25), rel=0.1)
    assert math.isnan(signal_to_noise_corrected(true[:1]))
    # At a true SNR of 1 with 2 seeds the estimator reads 1.0; subtracting the whole seed variance
    # from the means' (forgetting that a mean of n seeds carries 1/n of it) would read sqrt(0.5).
    at_one = np.repeat(rng.normal(0, 1, (4000, 1)), 2, axis=1) + rng.normal(0, 1, (4000, 2))
    assert signal_to_noise_corrected(at_one) == pytest.approx(1.0, abs=0.06)
    # The raw ratio reads 1.53 there: std of means sqrt(1 + 1/2) over a mean 2-seed std of sqrt(2 / pi)
    assert signal_to_noise(at_one) == pytest.approx(np.sqrt(1.5) / np.sqrt(2 / np.pi), rel=0.03)


def test_a_bootstrap_leaves_out_resamples_without_a_tau():
    # 5 concordant pairs: some of 2000 resamples draw one architecture 5 times (no tau); the rest all give 1.
    a = np.array([0.30, 0.10, 0.25, 0.20, 0.15])
    assert bootstrap_interval(kendall_tau, a, a + 1) == pytest.approx((1.0, 1.0))


def test_the_permutation_p_of_ranking_at_all_is_exact_for_few_architectures():
    a = np.arange(6.0)
    assert kendall_p_greater(a, a) == pytest.approx(1 / 720)  # one pairing of 6! reaches tau 1
    assert kendall_p_greater(a, a[::-1]) == pytest.approx(1.0)
    swapped = np.array([1.0, 0.0, 2.0, 3.0, 4.0, 5.0])  # one discordant pair: tau 13/15; 6 pairings of 720 do as well (1 + 5 adjacent swaps)
    assert kendall_p_greater(a, swapped) == pytest.approx(6 / 720)


def test_the_seed_tau_interval_is_over_architectures():
    rng = np.random.default_rng(0)
    apart = np.arange(10.0)[:, None] + 0.01 * rng.standard_normal((10, 3))  # seeds agree exactly in order
    assert seed_tau_interval(apart) == pytest.approx((1.0, 1.0))
    noise = rng.standard_normal((10, 3))
    lo, hi = seed_tau_interval(noise)
    assert lo < seed_agreement(noise)["kendall_tau"] < hi and lo < 0 < hi


def test_the_batched_tau_is_scipys_ties_and_constant_sides_included():
    from scipy import stats

    rng = np.random.default_rng(1)
    a, b = rng.integers(0, 3, size=(200, 7)).astype(float), rng.integers(0, 3, size=(200, 7)).astype(float)  # many ties
    a[0], b[1] = 1.0, 2.0  # a constant side: no tau
    expected = np.array([stats.kendalltau(x, y).statistic for x, y in zip(a, b)])
    assert np.isnan(expected).any() and np.allclose(kendall_tau_batched(a, b), expected, equal_nan=True)
    assert np.allclose(kendall_tau_batched(a.T, b.T, axis=0), expected, equal_nan=True)
    low = np.array([1.0, 2.0, -np.inf, 3.0])  # a failed trial's -inf ranks last, as scipy ranks it (not NaN)
    assert kendall_tau_batched(low, np.arange(4.0)) == pytest.approx(stats.kendalltau(low, np.arange(4.0)).statistic) == pytest.approx(1 / 3)


@pytest.mark.parametrize("n, resamples", [(6, 2000), (80, 2000), (PAIRWISE_MAX + 10, 300)])  # the array path (at 80 in two batches), and scipy's call per resample above PAIRWISE_MAX
def test_the_bootstrap_draws_the_same_resamples_either_way(n, resamples):
    """Both of the bootstrap's paths give the interval of scipy.stats.bootstrap over scipy's tau."""
    import warnings

    from scipy import stats

    rng = np.random.default_rng(n)
    a = np.round(rng.standard_normal(n), 1)
    b = np.round(a + rng.standard_normal(n), 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        slow = stats.bootstrap((a, b), lambda x, y: stats.kendalltau(x, y).statistic, paired=True, vectorized=False, n_resamples=resamples,
                               method="percentile", rng=np.random.default_rng(0)).bootstrap_distribution  # fmt: skip
    slow = slow[~np.isnan(slow)]
    assert bootstrap_interval(kendall_tau, a, b, resamples=resamples) == pytest.approx((np.percentile(slow, 2.5), np.percentile(slow, 97.5)))
    table = np.column_stack([a, b, np.round(a + rng.standard_normal(n), 1)])
    lo, hi = seed_tau_interval(table, resamples=300)
    assert lo <= seed_agreement(table)["kendall_tau"] <= hi
