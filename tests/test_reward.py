import math

import pytest

from nas.rewards import RewardConfig, compute_reward


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
