"""`spinenas plan`: a timed trial scaled to the search, checked against a real search's trials."""

import json

import pytest

from nas.commands.cli import main
from nas.settings.schemas import ConfigError
from nas.commands.plan import Cluster, concurrent_trials, plan
from nas.reporting.trials import SearchFolder
from nas.settings.search import load_settings
from nas.commands.search import run_search


@pytest.mark.slow
def test_plan_per_trial_time_is_within_2x_of_a_measured_trial(tmp_path):
    args = ["proxy=synthetic_tiny", "proxy.epochs=2", "trials=2", "max_concurrent=1", "trial.cpus=2"]
    estimate = plan(args, steps=8)
    assert estimate.measured["steps_timed"] == 8 and estimate.measured["steps_per_epoch"] == 256 // 8  # tiny: 256 images, batch 8
    assert estimate.concurrent == 1 and estimate.wall_s >= 2 * estimate.per_trial_s

    run_search([*args, f"out_dir={tmp_path / 'run'}"])
    rows = SearchFolder(tmp_path / "run").read_rows()
    measured = [float(r.values["wall_s"]) for r in rows if r.status == "ok"]
    assert len(measured) == 2
    ratio = estimate.per_trial_s / (sum(measured) / len(measured))
    assert 0.5 <= ratio <= 2.0, (estimate.per_trial_s, measured)


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
