"""The training-free surrogate proxy: match share and reproducible noise."""

from proxy_tasks.surrogate import SurrogateConfig, SurrogateTask, match_share
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
