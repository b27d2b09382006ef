import math

import pytest

from nas.rewards import RewardConfig, compute_reward, objectives_of


def test_plain_ap_and_missing():
    assert compute_reward({"AP": 0.4}, RewardConfig()) == 0.4
    assert compute_reward({"AP": -1.0}, RewardConfig()) == 0.0
    assert math.isnan(compute_reward({}, RewardConfig()))
    assert math.isnan(compute_reward({"AP": float("inf")}, RewardConfig()))


def test_mnasnet_soft_and_hard():
    soft = RewardConfig(target_flops=1e9, weight=-0.07)
    assert compute_reward({"AP": 0.5, "flops": 2e9}, soft) == pytest.approx(0.5 * 2**-0.07)
    assert compute_reward({"AP": 0.5, "flops": 0.5e9}, soft) == pytest.approx(0.5 * 0.5**-0.07)
    hard = RewardConfig(target_params=1e6, kind="hard")
    assert compute_reward({"AP": 0.5, "params": 0.9e6}, hard) == 0.5
    assert compute_reward({"AP": 0.5, "params": 2e6}, hard) == pytest.approx(0.25)


def test_bad_reward_config():
    with pytest.raises(ValueError, match="soft or hard"):
        RewardConfig(kind="medium").validate()
    with pytest.raises(ValueError, match="not both"):
        RewardConfig(target_flops=1, target_params=1).validate()


def test_latency_budget_soft_and_hard():
    from nas.rewards import REWARDS

    soft = REWARDS.get("latency_budget").options(target_ms=100.0)
    assert compute_reward({"AP": 0.5, "latency_ms": 200.0}, soft) == pytest.approx(0.5 * 2**-0.07)
    assert compute_reward({"AP": 0.5, "latency_ms": 50.0}, soft) == pytest.approx(0.5 * 0.5**-0.07)
    hard = REWARDS.get("latency_budget").options(target_ms=100.0, kind="hard")
    assert compute_reward({"AP": 0.5, "latency_ms": 90.0}, hard) == 0.5
    assert compute_reward({"AP": 0.5, "latency_ms": 200.0}, hard) == pytest.approx(0.25)
    assert math.isnan(compute_reward({"AP": 0.5}, soft))  # no latency: not a silent AP
    with pytest.raises(ValueError, match="target_ms must be > 0"):
        REWARDS.get("latency_budget").options(target_ms=0.0).validate()
    assert [(o.metric, o.goal, o.in_reward) for o in objectives_of(soft)] == [("AP", "max", True), ("latency_ms", "min", True)]


def test_pareto_reward_is_the_metric_or_its_soft_term():
    from nas.rewards import REWARDS

    kind = REWARDS.get("pareto")
    assert compute_reward({"AP": 0.3, "latency_ms": 80.0}, kind.options()) == 0.3
    weighted = kind.options(ref_ms=100.0, weight=-0.07)
    assert compute_reward({"AP": 0.3, "latency_ms": 50.0}, weighted) == pytest.approx(0.3 * 0.5**-0.07)
    assert math.isnan(compute_reward({"AP": 0.3}, kind.options()))
    # The declared objectives: the latency reaches the scalar only through a weight; the answer is a front.
    assert [o.in_reward for o in objectives_of(kind.options())] == [True, False]
    assert [o.in_reward for o in objectives_of(weighted)] == [True, True] and kind.front
    with pytest.raises(ValueError, match="needs reward.ref_ms"):
        kind.options(weight=-0.07).validate()
