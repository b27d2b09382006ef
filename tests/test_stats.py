"""Fresh-seed statistics against hand-computed values."""

import math

import pytest

from nas.core.stats import chance_of_verdict, compare, compare_all, holm, seed_std, summary


def student_t4_two_sided_p(t):
    """Two-sided p of Student's t with 4 degrees of freedom, from its closed-form CDF."""
    x = t * t
    cdf = 0.5 + 3 / 8 * (t / math.sqrt(1 + x / 4)) * (1 - x / (1 + x / 4) / 12)
    return 2 * (1 - cdf)


def test_summary_uses_the_sample_std_and_skips_missing_runs():
    assert summary([1.0, 2.0, 3.0, float("nan")]) == {"mean": 2.0, "std": 1.0, "n": 3}
    assert summary([0.5]) == {"mean": 0.5, "std": None, "n": 1}
    assert summary([]) == {"mean": None, "std": None, "n": 0}


def test_gap_and_welch_p_by_hand():
    # Both samples have std 1: seed std 1, difference -3, gap -3. Welch: t = -3 / sqrt(1/3 + 1/3), 4 dof.
    got = compare([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
    assert got["difference"] == pytest.approx(-3.0) and got["seed_std"] == pytest.approx(1.0) and got["gap"] == pytest.approx(-3.0)
    assert got["p_value"] == pytest.approx(student_t4_two_sided_p(3 / math.sqrt(2 / 3)), rel=1e-9)  # 0.0213
    # The one-sided question is fixed ("is the pick better?"): its p is near 1 here, not half the two-sided p.
    assert got["p_one_sided"] == pytest.approx(1 - student_t4_two_sided_p(3 / math.sqrt(2 / 3)) / 2, rel=1e-9)
    assert got["p_worse"] == pytest.approx(student_t4_two_sided_p(3 / math.sqrt(2 / 3)) / 2, rel=1e-9)
    assert got["verdict"] == "worse"


def test_seed_std_is_the_one_welch_uses_not_the_pooled_one():
    # s_a^2 = 1 (n 3), s_b^2 = 4 (n 2): unweighted sqrt((1 + 4) / 2), where the pooled std would be sqrt((2*1 + 1*4) / 3) = sqrt(2).
    assert seed_std([1.0, 2.0, 3.0], [0.0, 2 * math.sqrt(2)]) == pytest.approx(math.sqrt(2.5))
    # At equal n, Welch's t is the gap times sqrt(n / 2): gap and test read one std.
    a, b = [0.30, 0.34, 0.29, 0.33, 0.31], [0.25, 0.27, 0.22, 0.28, 0.24]
    got = compare(a, b)
    from scipy import stats

    t = stats.ttest_ind(a, b, equal_var=False).statistic
    assert t == pytest.approx(got["gap"] * math.sqrt(5 / 2), rel=1e-12)


def test_verdicts_need_more_than_two_seed_std():
    assert compare([0.21, 0.22, 0.23], [0.20, 0.21, 0.22])["verdict"] == "no clear difference"  # gap 1
    assert compare([0.2193 + 0.0049, 0.2193, 0.2193 - 0.0049], [0.1941 + 0.0037, 0.1941, 0.1941 - 0.0037])["verdict"] == "better"
    assert compare([0.3], [0.1, 0.2])["verdict"] == "too few seeds"


def test_welch_with_unequal_n_and_variances_by_hand():
    # b is constant, so Welch's t = (2 - 5) / sqrt(1/3) = -sqrt(27) with n_a - 1 = 2 dof, where Student's t
    # with pooled variance would be -7.1 with 6 dof. For 2 dof the t CDF is 1/2 + t / (2 sqrt(2 + t^2)).
    got = compare([1.0, 2.0, 3.0], [5.0, 5.0, 5.0, 5.0, 5.0])
    two_sided = 1 - math.sqrt(27) / math.sqrt(29)
    assert got["p_value"] == pytest.approx(two_sided, rel=1e-9)  # 0.0351; equal_var=True gives 0.0004
    assert got["p_worse"] == pytest.approx(two_sided / 2, rel=1e-9)
    assert got["seed_std"] == pytest.approx(math.sqrt(0.5))


def test_verdict_needs_the_margin_and_significance():
    # Around the 2-std boundary with many seeds (so p is small either way): the margin decides.
    base = [0.0, 1.0] * 10  # std 0.513, n 20
    sd = seed_std(base, base)
    assert compare([x + 2.05 * sd for x in base], base)["verdict"] == "better"
    assert compare([x + 1.95 * sd for x in base], base)["verdict"] == "no clear difference"
    assert compare([x - 2.05 * sd for x in base], base)["verdict"] == "worse"
    # A gap of 2.5 seed std at n = 2: Welch t 2.5 with 1 dof, one-sided p 0.12: not significant, no verdict.
    small = compare([1.25 + 0.5, 1.25 - 0.5 + 1.0], [0.0, 1.0])
    assert small["gap"] == pytest.approx(2.5) and small["p_one_sided"] == pytest.approx(0.5 - math.atan(2.5) / math.pi) and small["verdict"] == "no clear difference"


def test_holm_by_hand():
    # m = 3: sorted 0.01, 0.02, 0.04 -> 0.03, 0.04, 0.04 (running maximum); None is not tested.
    assert holm([0.04, 0.01, None, 0.02]) == pytest.approx([0.04, 0.03, None, 0.04])
    assert holm([0.6, 0.5]) == pytest.approx([1.0, 1.0])
    assert holm([0.03]) == [0.03]


def test_the_baselines_are_adjusted_together():
    # Against one baseline alone: gap 2.1, one-sided p 0.031, "better"; against two such baselines
    # Holm doubles the smaller p (0.062) and the verdict goes.
    pick, base = [0.40, 0.45, 0.50], [0.295, 0.345, 0.395]
    alone = compare(pick, base)
    assert 0.025 < alone["p_one_sided"] < 0.05 and alone["gap"] > 2 and alone["verdict"] == "better"
    both = compare_all(pick, {"r50": base, "s49": base})
    assert both["r50"]["p_holm"] == pytest.approx(2 * alone["p_one_sided"]) and both["r50"]["verdict"] == "no clear difference"


def test_chance_of_a_verdict_under_no_difference():
    # With 5 seeds a side the 2-std margin is the binding rule (t > 2 sqrt(5/2) = 3.16 at ~8 dof: ~0.7% one-sided).
    five = chance_of_verdict(5, 5, 2)
    assert 0.003 < five["better_vs_first"] < 0.01
    assert five["better_vs_first"] <= five["better_vs_any"] <= five["any_verdict"] < 0.05
    # Without Holm (and the pooled std, the direction read off the data), 3 seeds and 2 baselines gave some verdict in 11.6%.
    three = chance_of_verdict(3, 3, 2)
    assert three["any_verdict"] < 0.08 and three["better_vs_any"] < 0.05


def test_the_simulated_rate_is_the_rule_itself():
    """chance_of_verdict vectorises compare_all's rule; fed the same draws, the two give the same verdicts."""
    import numpy as np

    draws, n, m = 600, 3, 2
    rng = np.random.default_rng(0)  # chance_of_verdict's own draws, in its order
    cand, base = rng.standard_normal((draws, n)), rng.standard_normal((m, draws, n))
    better_first = better_any = any_verdict = 0
    for d in range(draws):
        got = compare_all(cand[d], {f"b{j}": base[j, d] for j in range(m)})
        verdicts = [got[f"b{j}"]["verdict"] for j in range(m)]
        better_first += verdicts[0] == "better"
        better_any += "better" in verdicts
        any_verdict += any(v in ("better", "worse") for v in verdicts)
    rates = chance_of_verdict(n, n, m, draws=draws, seed=0)
    assert (rates["better_vs_first"], rates["better_vs_any"], rates["any_verdict"]) == (better_first / draws, better_any / draws, any_verdict / draws)
    assert any_verdict > 0  # the case has verdicts to agree on
