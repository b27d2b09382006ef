"""`spinenas plan`: a timed trial scaled to the search. How close the estimate comes to a real
search's trials is a timing: benchmarks/plan_accuracy.py measures it (not a test: timings belong to benchmarks)."""

import json

import pytest

from nas.commands.cli import main
from nas.settings.schemas import ConfigError
from nas.commands.plan import PlanEstimate, _notes, format_plan, plan
from nas.runner.sizing import Cluster, concurrent_trials
from nas.settings.search import load_settings


@pytest.mark.parametrize(
    "overrides, cluster, expected",
    [
        (["max_concurrent=64", "trial.gpus=0.25"], Cluster(64, 8, "given"), 32),  # four trials per GPU
        (["max_concurrent=64", "trial.cpus=4"], Cluster(64, 0, "given"), 16),
        (["max_concurrent=3"], Cluster(64, 8, "given"), 3),
    ],
)
def test_concurrent_trials_follow_the_reserved_resources(overrides, cluster, expected):
    assert concurrent_trials(load_settings(["proxy=surrogate", *overrides]), cluster) == expected


def test_a_trial_that_fits_nowhere_is_named():
    with pytest.raises(ConfigError, match="no trial fits the cluster: trial.cpus=1, trial.gpus=1"):
        concurrent_trials(load_settings(["proxy=surrogate", "trial.gpus=1"]), Cluster(8, 0, "given"))


def test_plan_cli_prints_json_for_a_given_cluster(capsys):
    args = ["plan", "proxy=surrogate", "proxy.duration_s=0.2", "--gpus", "8", "--cpus", "64", "trials=1000", "max_concurrent=100", "trial.gpus=0.5", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["concurrent"] == 16 and out["cluster"]["gpus"] == 8
    assert out["per_trial_s"] == pytest.approx(0.2, abs=0.1)
    assert out["gpu_hours"] == pytest.approx(1000 * out["per_trial_s"] * 0.5 / 3600)
    assert out["wall_s"] == pytest.approx(out["measured"]["setup_s"] + 1000 * out["per_trial_s"] / 16)


@pytest.mark.slow
def test_plan_times_the_asked_steps_of_a_real_trial_and_scales_them():
    """The real timing path (a tiny trial's first steps); its accuracy against a real search is
    benchmarks/plan_accuracy.py's, not a test's."""
    args = ["proxy=synthetic_tiny", "proxy.epochs=2", "trials=2", "max_concurrent=1", "trial.cpus=1"]
    estimate = plan(args, steps=3)
    assert estimate.measured["steps_timed"] == 3 and estimate.measured["steps_per_epoch"] == 256 // 8  # tiny: 256 images, batch 8
    assert estimate.concurrent == 1 and estimate.wall_s >= 2 * estimate.per_trial_s > 0
    # torch and a training are in it: above the interpreter's few tens of MB, below the machine
    assert 200 < estimate.peak_memory_mb < estimate.machine_memory_mb
    assert f"1 at once: ~{estimate.peak_memory_mb / 1024:.1f} GB of this machine's" in format_plan(estimate)


def test_plan_warns_when_the_trials_at_once_would_not_fit_the_memory():
    settings = load_settings(["proxy=surrogate", "max_concurrent=4"])
    big = PlanEstimate(trials=8, concurrent=4, cluster=Cluster(4, 0, "this machine"), timed_arch="a", peak_memory_mb=9500, machine_memory_mb=24000)
    small = PlanEstimate(trials=8, concurrent=2, cluster=Cluster(4, 0, "this machine"), timed_arch="a", peak_memory_mb=900, machine_memory_mb=24000)
    assert any("4 trials at once need about 37.1 GB, more than 80% of this machine's 23 GB" in n for n in _notes(settings, big, None))
    assert not any("GB" in n for n in _notes(settings, small, None))


def test_a_rung_on_part_of_the_validation_set_is_charged_its_share():
    """With proxy.rung_val_images, a timed trial's ASHA rungs cost that share of a final evaluation
    (64 of the tiny set's 64 validation images: all; 16: a quarter), the rest unchanged."""
    from nas.core.schedule import SchedulerConfig, expected_epochs

    scheduler = SchedulerConfig(name="asha", grace_period=1)
    timed = {"epochs": 4, "step_s": 0.5, "steps_per_epoch": 10, "first_step_s": 0.5, "build_s": 1.0, "eval_s": 8.0, "rung_eval_s": 0.0, "steps": 5, "wall_s": 4.0}
    seconds = {}
    for n in (None, 64, 16):
        evaluator = load_settings(["proxy=synthetic_tiny", "proxy.epochs=4", f"proxy.rung_val_images={'null' if n is None else n}"]).evaluator
        seconds[n] = evaluator.trial_seconds(timed, scheduler, steps=5)[0]
    _, evals = expected_epochs(scheduler, 4)
    assert evals > 0 and seconds[64] == pytest.approx(seconds[None])
    assert seconds[None] - seconds[16] == pytest.approx(evals * 8.0 * (1 - 16 / 64))
