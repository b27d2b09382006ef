"""ASHA early stopping: rung arithmetic, the stopped-trial rule, resume seeding, and a real search."""

import json
import random
from types import SimpleNamespace

import pytest
from ray.tune.schedulers import ASHAScheduler, TrialScheduler

from nas.settings.schemas import ConfigError, compose, scheduler_config
from nas.core.schedule import SchedulerConfig, expected_epochs, format_rungs, parse_rungs, rung_epochs
from nas.runner.asha import make_scheduler
from nas.reporting.trials import SearchFolder
from nas.commands.search import _rung_points, run_search
from nas.searchers import make_searcher, searcher_options
from search_space import get_space

ASHA = SchedulerConfig(name="asha", grace_period=2, reduction_factor=2)


def test_rungs_follow_ashas_milestones():
    assert rung_epochs(ASHA, 8) == [2, 4]  # milestones 2, 4, 8; the last is the end of training
    assert rung_epochs(SchedulerConfig("asha", 1, 4), 2) == [1]
    assert rung_epochs(SchedulerConfig("asha", 1, 3), 10) == [1, 3, 9]
    assert rung_epochs(SchedulerConfig(), 8) == []
    assert sorted(make_scheduler(ASHA, 8).rungs.recorded) == [2, 4, 8]


def test_expected_epochs_when_each_rung_keeps_half():
    # Everyone trains 2 epochs, half go on to 4 (+2), a quarter to 8 (+4): 2 + 1 + 1 = 4 epochs.
    assert expected_epochs(ASHA, 8) == (4.0, 1.5)
    assert expected_epochs(SchedulerConfig(), 8) == (8.0, 0.0)


def test_rung_history_round_trips():
    history = [(2, 0.0123), (4, 1e-05)]
    assert parse_rungs(format_rungs(history)) == history
    assert parse_rungs("") == []


@pytest.mark.parametrize(
    "overrides, epochs, message",
    [
        (["scheduler=asha", "scheduler.grace_period=9"], 8, "scheduler.grace_period must be between 1 and proxy.epochs=8"),
        (["scheduler=asha", "scheduler.reduction_factor=1"], 8, "scheduler.reduction_factor must be > 1"),
        (["scheduler=asha", "scheduler.stopped_reward=final"], 8, "scheduler.stopped_reward must be one of rung, skip"),
        (["scheduler=asha"], None, "proxy=surrogate has none"),
    ],
)
def test_bad_scheduler_settings_are_named(overrides, epochs, message):
    with pytest.raises(ConfigError, match=message):
        scheduler_config(compose("search", overrides).scheduler, epochs)


def stand_in_trial(trial_id):
    """What a scheduler reads of a Tune trial: its id."""
    return SimpleNamespace(trial_id=trial_id)


def result(epoch, reward):
    return {"epoch": epoch, "reward": reward}


def test_a_resumed_asha_keeps_the_cutoffs_of_earlier_trials():
    scheduler = make_scheduler(ASHA, 8)
    assert scheduler.seed({"a": [(2, 0.5)], "b": [(2, 0.1), (4, 0.2)], "c": []}) == 3
    # Median of the seeded rung-2 rewards (0.5, 0.1) is 0.3: a new trial at 0.05 is stopped.
    assert scheduler.on_trial_result(None, stand_in_trial("new"), result(2, 0.05)) == TrialScheduler.STOP
    assert scheduler.on_trial_result(None, stand_in_trial("good"), result(2, 0.4)) == TrialScheduler.CONTINUE
    fresh = make_scheduler(ASHA, 8)
    assert fresh.on_trial_result(None, stand_in_trial("new"), result(2, 0.05)) == TrialScheduler.CONTINUE  # no cutoff yet
    assert fresh.on_trial_result(None, stand_in_trial("x"), {"epoch": 1, "loss": 0.3}) == TrialScheduler.CONTINUE  # a curve point


@pytest.mark.parametrize("grace, rf, max_t", [(2, 2, 8), (1, 4, 2), (1, 3, 10), (1, 2, 16)])
def test_our_asha_decides_as_rays(grace, rf, max_t):
    """The same stream of rung and final results, through Ray's ASHA (one bracket) and ours, public
    methods only: every decision agrees."""
    rng = random.Random(grace * 100 + rf * 10 + max_t)
    ours = make_scheduler(SchedulerConfig("asha", grace, rf), max_t)
    rays = ASHAScheduler(time_attr="epoch", metric="reward", mode="max", max_t=max_t, grace_period=grace, reduction_factor=rf, brackets=1)
    rungs = [*rung_epochs(SchedulerConfig("asha", grace, rf), max_t), max_t]
    running = {}
    decisions = 0
    for step in range(400):
        if len(running) < 4:
            trial = stand_in_trial(f"t{step}")
            rays.on_trial_add(None, trial)
            running[trial.trial_id] = [trial, 0]
        trial_id = rng.choice(sorted(running))
        trial, k = running[trial_id]
        res = result(rungs[k], rng.random())
        a, b = ours.on_trial_result(None, trial, res), rays.on_trial_result(None, trial, res)
        assert a == b, (step, res)
        decisions += 1
        if a == TrialScheduler.STOP or k + 1 == len(rungs):
            ours.on_trial_complete(None, trial, res)
            rays.on_trial_complete(None, trial, res)
            del running[trial_id]
        else:
            running[trial_id][1] = k + 1
    assert decisions == 400


@pytest.mark.parametrize("rule", ["rung", "skip"])
def test_stopped_trials_teach_the_controller_by_the_rule(rule):
    space = get_space("r0_sp53", block_adjustments=True)
    searcher = make_searcher(searcher_options("reinforce", {"batch_size": 2}), space, stopped_reward=rule)
    searcher.suggest("t1")
    searcher.suggest("t2")
    seen = [
        searcher.complete("t1", {"status": "partial", "reward": 0.01, "AP": 0.01, "epoch": 2}),
        searcher.complete("t2", {"status": "ok", "reward": 0.05, "AP": 0.05, "epoch": 8}),
    ]
    assert [(c.status, c.reward) for c in seen] == [("stopped", 0.01), ("ok", 0.05)]
    assert searcher.cache and all(v["reward"] == 0.05 for v in searcher.cache.values())  # only finished results are re-used
    if rule == "rung":  # both completions form one policy update, the stopped one at its rung reward
        assert len(searcher.history) == 1 and searcher.buffer == []
    else:  # the stopped trial is not learned from: one finished trial waits in the batch
        assert searcher.history == [] and [r for _, r in searcher.buffer] == [0.05]


@pytest.mark.slow
def test_asha_search_on_the_tiny_proxy(tmp_path, shared_ray):
    out = tmp_path / "asha"
    # 2 epochs, rung at epoch 1, keep the top quarter: after the first trial most are stopped.
    # One trial at a time keeps the order (and so the stops) deterministic; a batch of 64 keeps
    # every learned reward in the controller's buffer, where the test can read it. A 2-step
    # warm-up leaves the plateau within the 8 steps before the rung (AP 0.002-0.006 there).
    args = [
        "proxy=synthetic_tiny",
        "proxy.epochs=2",
        "proxy.data.max_train_images=64",  # 8 steps an epoch
        "proxy.data.max_val_images=32",
        "proxy.optim.warmup_steps=2",
        "scheduler=asha",
        "scheduler.grace_period=1",
        "scheduler.reduction_factor=4",
        "searcher.batch_size=64",
        "trials=5",
        "max_concurrent=1",
        "trial.cpus=1",
        f"out_dir={out}",
    ]
    summary = run_search(args).summary
    rows = SearchFolder(out).read_rows()
    assert len(rows) == 5
    stopped = [r for r in rows if r.status == "stopped"]
    finished = [r for r in rows if r.status == "ok"]
    assert stopped and finished and rows[0].status == "ok"  # the first trial meets no cutoff
    for r in stopped:
        (epoch, value), = parse_rungs(r.values["rungs"])
        assert int(r.values["epoch"]) == epoch == 1 and r.reward == value  # the reward it was compared at
        assert r.reward < max(f.reward for f in finished)
    for r in finished:
        assert int(r.values["epoch"]) == 2 and len(parse_rungs(r.values["rungs"])) == 1
    assert summary["stopped"] == len(stopped) and summary["best_trial"] in [r.number for r in finished]
    # Rule `rung`: the controller learned from every trial, stopped ones at their rung reward.
    state = json.loads((out / "searcher.json").read_text())
    assert [b["reward"] for b in state["algorithm"]["buffer"]] == [r.reward for r in rows]
    assert set(state["cache"]) == {r.values["arch_id"] for r in finished}


def test_two_objective_rung_keeps_a_fast_weaker_trial_on_the_front():
    """reward=pareto: below the reward cutoff, a trial goes on when no trial recorded at the rung is
    both faster (or as fast) and more accurate; a dominated one stops as before."""
    from nas.runner.asha import Rungs

    for with_points in (True, False):
        rungs = Rungs([1.0], reduction_factor=2.0)
        point = (lambda c, v: (c, v)) if with_points else (lambda c, v: None)
        assert rungs.decide("a", 1, 0.50, point(100.0, 0.50)) == "CONTINUE"
        assert rungs.decide("b", 1, 0.60, point(200.0, 0.60)) == "CONTINUE"
        fast_weaker = rungs.decide("c", 1, 0.40, point(50.0, 0.40))  # cutoff is the median of 0.5, 0.6
        slow_weaker = rungs.decide("d", 1, 0.45, point(150.0, 0.45))  # a: faster and better
        assert (fast_weaker, slow_weaker) == (("CONTINUE", "STOP") if with_points else ("STOP", "STOP"))
    scheduler = make_scheduler(SchedulerConfig(name="asha", grace_period=1), 4, ("AP", "latency_ms"))
    assert scheduler.point({"AP": 0.3, "latency_ms": 20.0}) == (20.0, 0.3)
    assert scheduler.point({"AP": 0.3}) is None
    assert make_scheduler(SchedulerConfig(name="asha", grace_period=1), 4).point({"AP": 0.3, "latency_ms": 20.0}) is None


def test_a_resumed_two_objective_asha_keeps_the_rung_front():
    """Resume: the earlier trials' rung points are seeded with their rewards, so a new trial that an
    earlier one dominates still stops (without the points it would pass as 'on the front')."""
    history = {"a": [(1, 0.50)], "b": [(1, 0.60)]}
    points = {"a": [(1, (100.0, 0.50))], "b": [(1, (200.0, 0.60))]}
    for seeded_points, expect in ((points, "STOP"), (None, "CONTINUE")):
        scheduler = make_scheduler(SchedulerConfig(name="asha", grace_period=1), 4, ("AP", "latency_ms"))
        assert scheduler.seed(history, seeded_points) == 2
        dominated = scheduler.on_trial_result(None, stand_in_trial("d"), {"epoch": 1, "reward": 0.45, "AP": 0.45, "latency_ms": 150.0})
        fast = scheduler.on_trial_result(None, stand_in_trial("c"), {"epoch": 1, "reward": 0.40, "AP": 0.40, "latency_ms": 50.0})
        assert (dominated, fast) == (expect, "CONTINUE")


def test_rung_points_of_a_resumed_pareto_search_come_from_its_trials_csv(tmp_path):
    """What a resumed search seeds: each earlier trial's (latency, metric) at its rungs, as
    trials.csv stored every objective there (the reward is weighted here, so metric != reward); a
    row without stored objectives (a failed trial, or one written before they were stored) gives none."""
    folder = SearchFolder(tmp_path)
    folder.start(resume=False)
    weighted = 0.2 * 0.5**-0.07
    folder.append_row("a", {"AP": 0.3, "latency_ms": 50.0, "rungs": format_rungs([(1, weighted), (2, 0.33)], [{"AP": 0.2, "latency_ms": 50.0}, {"AP": 0.3, "latency_ms": 50.0}])}, status="finished")
    folder.append_row("b", {"AP": 0.1, "rungs": "1:0.1"}, status="failed")
    folder = SearchFolder(tmp_path)
    folder.start(resume=True)  # as a resume reads it
    points = _rung_points(("AP", "latency_ms"), folder)
    assert points == {"a": [(1, (50.0, 0.2)), (2, (50.0, 0.3))]}
    assert parse_rungs(folder.rows[0].values["rungs"]) == [(1, weighted), (2, 0.33)]

