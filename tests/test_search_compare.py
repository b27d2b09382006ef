"""The statistics of a search comparison: the search is the unit, the methods are adjusted together,
and sample efficiency compares the budgets that reach the baseline's own level."""

import numpy as np
import pytest

from nas.core.search_compare import (
    anytime, compare_searches, icc, on_grid, per_search_finals, permutation_p, detectable_gap, power_at, sample_efficiency, smallest_p, versus,
)  # fmt: skip
from nas.core.stats import compare, holm


def test_pooled_runs_of_three_searches_pass_where_the_searches_themselves_do_not():
    # each search's pick retrained on 3 seeds: runs of one search sit together (high ICC)
    method = [[0.200, 0.201, 0.199], [0.190, 0.191, 0.189], [0.185, 0.186, 0.184]]
    random = [[0.180, 0.181, 0.179], [0.172, 0.173, 0.171], [0.168, 0.169, 0.167]]
    pooled = compare([x for r in method for x in r], [x for r in random for x in r])
    assert pooled["verdict"] == "better" and pooled["p_one_sided"] < 0.001  # 9 "replicates" a side: overstated
    assert icc(method) > 0.95
    row = compare_searches({"method": per_search_finals(method), "random": per_search_finals(random)}, [("method", "random")])["method vs random"]
    assert row["n"] == 3 and row["p"] == pytest.approx(1 / 20)  # the best of C(6, 3) = 20 arrangements
    assert row["smallest_p"] == pytest.approx(0.05) and row["verdict"] == "no clear difference"
    assert row["difference"] == pytest.approx(0.0183, abs=1e-4) and row["interval"][0] > 0


def test_the_exact_permutation_p_is_one_sided():
    assert permutation_p([3.0, 4.0], [1.0, 2.0]) == pytest.approx(1 / 6)  # two-sided would be 2/6
    assert permutation_p([1.0, 2.0], [3.0, 4.0]) == pytest.approx(1.0)


def test_methods_are_adjusted_together_and_a_marginal_win_loses_its_verdict():
    rng = np.random.default_rng(3)
    base = rng.normal(0.0, 1.0, 10)
    a = base.mean() + 4.0 + rng.normal(0.0, 1.0, 10)  # clear: stays better after Holm
    b = base.mean() + 0.9 + rng.normal(0.0, 1.0, 10)
    arms = {"random": base, "a": a, "b": b}
    assert versus(arms, "random") == [("a", "random"), ("b", "random")]
    rows = compare_searches(arms, [*versus(arms, "random"), ("a", "b")])
    raw = [rows[k]["p"] for k in ("a vs random", "b vs random", "a vs b")]
    assert [rows[k]["p_holm"] for k in ("a vs random", "b vs random", "a vs b")] == pytest.approx(holm(raw))
    assert rows["a vs random"]["verdict"] == "better"
    # 4 searches a side, fully apart but for one: p = 2/70 alone ("better"), 4/70 in a family of two
    base4, m = [0.0, 0.1, 0.2, 0.3], [0.25, 0.45, 0.5, 0.55]
    alone = compare_searches({"random": base4, "m": m}, [("m", "random")])["m vs random"]
    assert alone["p"] == pytest.approx(2 / 70) and alone["gap"] > 2 and alone["verdict"] == "better"
    pair = compare_searches({"random": base4, "m": m, "twin": m}, [("m", "random"), ("twin", "random")])["m vs random"]
    assert pair["p_holm"] == pytest.approx(4 / 70) and pair["verdict"] == "no clear difference"


def test_power_and_smallest_p_say_what_three_searches_can_detect():
    assert smallest_p(3, 3) == pytest.approx(0.05) and smallest_p(10, 10) < 1e-5
    assert power_at(4.0, 3, 3) == 0.0  # 3 a side: no lead is ever called (p >= 0.05 always)
    assert detectable_gap(3, 3) == float("inf")
    # the rule wants the observed gap over 2 std: a true 2-std lead is called about half the time at any n
    assert 0.4 < power_at(2.0, 10, 10) < 0.6
    assert 2.3 < detectable_gap(10, 10) < detectable_gap(5, 5) < 4.0


def test_icc_by_hand():
    assert icc([[1.0, 2.0], [3.0, 4.0]]) == pytest.approx((4 - 0.5) / (4 + 0.5))
    assert icc([[1.0, 2.0], [1.0, 2.0]]) < 0  # no difference between searches


def test_best_so_far_on_a_cost_grid_and_its_interval():
    grid = np.arange(1, 5)
    curve = on_grid([1.0, 2.5, 4.0], [0.1, 0.3, 0.2], grid)
    assert np.allclose(curve, [0.1, 0.1, 0.3, 0.3])  # trial 2 finishes at 2.5: counted from budget 3
    assert np.isnan(on_grid([2.0], [0.5], grid)[0])
    a = anytime([curve, curve + 0.2])
    assert np.allclose(a["mean"], curve + 0.1) and (a["low"] <= a["mean"]).all() and (a["high"] >= a["mean"]).all()


def test_sample_efficiency_is_the_baselines_budget_over_the_methods_at_the_baselines_level():
    grid = np.arange(1, 33, dtype=float)
    baseline = [np.minimum(grid / 32, 1.0) * s for s in (0.99, 1.0, 1.01)]  # reaches ~1.0 at 32
    method = [np.minimum(grid / 16, 1.2) * s for s in (0.99, 1.0, 1.01)]  # reaches 1.0 at 16
    se = sample_efficiency(method, baseline, grid, at=32)
    assert se["ratio"] == pytest.approx(2.0) and se["reached_at"] == 16 and se["level"] == pytest.approx(1.0)
    assert se["low"] <= 2.0 <= se["high"]
    never = sample_efficiency(baseline, method, grid, at=32)  # the method's level (1.2) is out of the baseline's reach
    assert never["ratio"] == 0.0 and never["reached_at"] is None


def test_methods_table_prints_each_method_against_the_baseline_with_the_comparison_numbers():
    from nas.core.search_compare import methods_table

    finals = {"random": [0.10, 0.12, 0.11, 0.13], "smart": [0.15, 0.16, 0.14, 0.17]}
    rows = compare_searches(finals, versus(finals, "random"))
    grid = np.arange(1, 4, dtype=float)
    curves = {"random": [np.array([0.1, 0.11, 0.12])] * 4, "smart": [np.array([0.12, 0.13, 0.14])] * 4}
    eff = {"smart": sample_efficiency(curves["smart"], curves["random"], grid, at=3)}
    lines = methods_table(finals, rows, eff)
    assert lines[2] == "| random | 0.1150 | 0.0129 | | | | | |"
    c = rows["smart vs random"]
    assert lines[3].startswith(f"| smart | 0.1550 | 0.0129 | +0.0400 [{c['interval'][0]:+.4f}, {c['interval'][1]:+.4f}] | {c['gap']:+.2f} | {c['p']:.3g} |")
    assert lines[3].endswith("| 3.00 [3.00, 3.00] |")  # random reaches its 3-trial level at 3, the method at 1
