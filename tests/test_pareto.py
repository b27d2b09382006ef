"""Two-objective arithmetic: front, ranks, crowding, hypervolume (values worked out by hand)."""

import math

import pytest

from nas.core.pareto import crowding, dominates, front_indices, hypervolume, nondominated_ranks, pareto_front

# (cost, value): lower cost and higher value are better.
POINTS = [(1.0, 0.1), (2.0, 0.3), (3.0, 0.2), (4.0, 0.5), (2.0, 0.3), (5.0, 0.4)]


def test_dominance_and_front():
    assert dominates((1, 0.5), (2, 0.5)) and dominates((1, 0.5), (1, 0.4))
    assert not dominates((1, 0.5), (1, 0.5)) and not dominates((1, 0.1), (2, 0.3))
    assert pareto_front(POINTS) == [(1.0, 0.1), (2.0, 0.3), (4.0, 0.5)]
    assert front_indices(POINTS) == [0, 1, 4, 3]  # both copies of (2, 0.3), by cost


def test_ranks_peel_fronts():
    assert nondominated_ranks(POINTS) == [0, 0, 1, 0, 0, 1]
    assert nondominated_ranks([]) == []


def test_crowding_prefers_the_ends_and_sparse_stretches():
    pts = [(1.0, 0.1), (2.0, 0.3), (2.5, 0.35), (4.0, 0.5)]
    d = crowding(pts, [0, 1, 2, 3])
    assert math.isinf(d[0]) and math.isinf(d[3])
    # point 1: neighbours span cost 1..2.5 (1.5 / 3) and value 0.1..0.35 (0.25 / 0.4)
    assert d[1] == pytest.approx(1.5 / 3 + 0.25 / 0.4)
    assert d[2] == pytest.approx(2.0 / 3 + 0.2 / 0.4)
    assert d[2] > d[1]


def test_hypervolume_by_hand():
    # Reference (cost 6, value 0): strips (6-1)*0.1 + (6-2)*0.2 + (6-4)*0.2 = 0.5 + 0.8 + 0.4
    assert hypervolume(POINTS, 6.0) == pytest.approx(1.7)
    assert hypervolume(POINTS, 3.0) == pytest.approx((3 - 1) * 0.1 + (3 - 2) * 0.2)  # points beyond the reference count nothing
    assert hypervolume([], 6.0) == 0.0
    # A dominated point adds nothing; a better one adds area.
    assert hypervolume([*POINTS, (3.0, 0.2)], 6.0) == pytest.approx(1.7)
    assert hypervolume([*POINTS, (3.0, 0.45)], 6.0) > 1.7


def test_the_front_trades_the_cost_the_reward_declares():
    from nas.reporting.pareto import FrontSettings

    assert FrontSettings.of_reward({"name": "pareto", "metric": "AP", "ref_ms": 2600}) == FrontSettings("AP", "latency_ms", 2600.0)
    assert FrontSettings.of_reward({"name": "latency_budget", "metric": "AP50", "target_ms": 50.0}).cost == "latency_ms"
    assert FrontSettings.of_reward({"name": "mnas", "metric": "AP", "target_flops": 2e9}) == FrontSettings("AP", "flops", None)  # an MnasNet target: its cost
    assert FrontSettings.of_reward({"name": "mnas", "metric": "AP"}).cost is None  # the metric alone: no front
    assert FrontSettings.of_reward(None).cost == "latency_ms"  # a run folder without its config: as before the declarations
    assert FrontSettings.of_reward({"name": "a_plugins_reward", "metric": "AP"}).cost == "latency_ms"
