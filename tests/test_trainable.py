"""One trial outside Ray: cost accounting, node name, and failures recorded, not raised."""

import math
import socket

import pytest

from nas.settings.schemas import ConfigError
from nas.rewards import RewardConfig
from nas.settings.search import load_settings
from nas.runner.trial import TrialSpec, node_name, run_trial
from nas.evaluators import SurrogateOptions
from proxy_tasks.config import ProxyConfig
from search_space import get_space


def arch_config(seed=0):
    arch = get_space("r0_sp53", block_adjustments=True).sample(seed)
    return {"arch": arch.to_dict(), "arch_id": arch.id}


def test_gpu_seconds_are_wall_time_times_the_share_held():
    out = run_trial(arch_config(), TrialSpec(SurrogateOptions(duration_s=0.2), RewardConfig(), "spinenet49", threads=1, gpus=0.25))
    assert out["status"] == "ok" and out["wall_s"] >= 0.2
    assert out["gpu_s"] == pytest.approx(0.25 * out["wall_s"])
    # Outside Ray the host name; inside the test session's Ray (tests/conftest.py) its node's name.
    assert out["node"] == node_name() == (_ray_node() or socket.gethostname())


def test_a_failing_trial_is_returned_with_its_error():
    config = arch_config()
    config["arch"]["blocks"][0]["parents"] = [99, 98]  # no such nodes
    out = run_trial(config, TrialSpec(SurrogateOptions(), RewardConfig(), "spinenet49", threads=1))
    assert out["status"] == "failed" and math.isnan(out["reward"]) and "parent" in out["error"]
    assert out["wall_s"] >= 0 and out["gpu_s"] == 0


def test_a_fractional_gpu_share_caps_the_trials_gpu_memory():
    assert load_settings(["proxy=synthetic_tiny", "trial.gpus=0.25"]).proxy.gpu_memory_fraction == 0.25
    assert load_settings(["proxy=synthetic_tiny", "trial.gpus=1"]).proxy.gpu_memory_fraction is None
    with pytest.raises(ConfigError, match=r"proxy.gpu_memory_fraction must be in \(0, 1\]"):
        load_settings(["proxy=synthetic_tiny", "++proxy.gpu_memory_fraction=1.5"])
    with pytest.raises(ValueError, match="gpu_memory_fraction"):
        ProxyConfig(gpu_memory_fraction=0).validate()


def _ray_node():
    import ray

    return node_name() if ray.is_initialized() else None


def test_a_worker_keeps_the_evaluators_and_datasets_of_its_last_runs_only():
    """Fidelity's seeds and proxy-design's candidates differ in their options; a worker that kept an
    evaluator (and its decoded images) per distinct options grew by hundreds of MB per run."""
    import dataclasses

    from nas.evaluators import training
    from nas.runner import trial

    base = load_settings(["proxy=synthetic_tiny"]).proxy
    trial._EVALUATORS.clear()
    training._TASKS.clear()
    for k in range(6):
        options = dataclasses.replace(base, seed=k, data=dataclasses.replace(base.data, max_train_images=32 + 8 * (k % 3)))
        evaluator = trial.evaluator_for(options)
        evaluator.task  # the task (and its data) is made on first use
        assert trial.evaluator_for(options) is evaluator  # re-used while runs ask for the same options
    assert len(trial._EVALUATORS) == trial.MAX_EVALUATORS and len(training._TASKS) == training.MAX_DATASETS
    assert [t.config.data.max_train_images for t in training._TASKS] == [40, 48]  # the most recently used, last
    same_data = dataclasses.replace(options, seed=99)
    assert trial.evaluator_for(same_data).task._caches is training._TASKS[-1]._caches  # another seed shares the data
