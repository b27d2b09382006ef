"""The training-free surrogate proxy: match share and reproducible noise."""

import dataclasses

import pytest

from nas.settings.schemas import ConfigError
from nas.settings.search import load_settings
from proxy_tasks.surrogate import SurrogateConfig, SurrogateTask, joint_share, match_share
from search_space import get_architecture, get_space


def test_match_share_of_the_target_is_one():
    target = get_architecture("spinenet49")
    assert match_share(target, target) == 1.0
    assert 0 <= match_share(get_space("r0_sp53", True).sample(0), target) < 1


def test_noise_depends_on_seed_and_architecture_only():
    archs = [get_space("r0_sp53", True).sample(k) for k in range(4)]
    one, other = SurrogateTask(SurrogateConfig(noise=0.05, seed=1)), SurrogateTask(SurrogateConfig(noise=0.05, seed=1))
    forward = [one.run(a)["AP"] for a in archs]
    backward = [other.run(a)["AP"] for a in reversed(archs)][::-1]
    assert forward == backward  # any worker, any order: the same reward
    assert len(set(forward)) == 4 and all(abs(f - match_share(a, get_architecture("spinenet49"))) < 0.25 for f, a in zip(forward, archs))
    reseeded = [SurrogateTask(SurrogateConfig(noise=0.05, seed=2)).run(a)["AP"] for a in archs]
    assert reseeded != forward


def test_joint_score_counts_parents_only_in_context():
    target = get_architecture("spinenet49")
    assert joint_share(target, target) == 1.0
    samples = [get_space("r0_sp53", True).sample(k) for k in range(20)]
    assert all(joint_share(a, target) <= match_share(a, target) for a in samples)
    # Move block 0 to another level: positional loses that one decision, joint also loses the
    # parents of block 0 and every parent link that points at block 0.
    b0 = target.blocks[0]
    moved = dataclasses.replace(target, blocks=(dataclasses.replace(b0, level=b0.level + 1), *target.blocks[1:]))
    n = 5 * len(target.blocks)
    assert match_share(moved, target) == pytest.approx(1 - 1 / n)
    links_to_b0 = sum(p == target.num_stem for b in target.blocks for p in b.parents)
    assert joint_share(moved, target) == pytest.approx(1 - (1 + 2 + links_to_b0) / n)


def test_durations_vary_per_architecture_within_the_spread():
    task = SurrogateTask(SurrogateConfig(duration_s=2.0, duration_spread=0.5))
    archs = [get_space("r0_sp53", True).sample(k) for k in range(30)]
    durations = [task.duration(a) for a in archs]
    assert all(1.0 <= d <= 3.0 for d in durations) and max(durations) - min(durations) > 1.0
    assert durations == [SurrogateTask(task.config).duration(a) for a in archs]  # same on any worker
    assert SurrogateTask(SurrogateConfig(duration_s=2.0)).duration(archs[0]) == 2.0


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["proxy.target=spinenet50"], "proxy.target: 'spinenet50' is neither a catalog architecture"),
        (["proxy.score=foo"], "proxy.score must be one of positional, joint"),
        (["proxy.duration_spread=2"], "proxy.duration_spread in"),
    ],
)
def test_bad_surrogate_settings_stop_at_start(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(["proxy=surrogate", *overrides])
