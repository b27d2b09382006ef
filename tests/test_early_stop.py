"""ASHA early stopping: rung arithmetic, the stopped-trial rule, resume seeding, and a real search."""

import json
from types import SimpleNamespace

import pytest
from ray.tune.schedulers import TrialScheduler

from nas.config import ConfigError, compose, scheduler_config
from nas.early_stop import SchedulerConfig, expected_epochs, format_rungs, make_scheduler, parse_rungs, rung_epochs, seed_scheduler
from nas.results import RunFolder
from nas.search import run_search
from nas.searchers import make_searcher
from search_space import get_space

ASHA = SchedulerConfig(name="asha", grace_period=2, reduction_factor=2)


def test_rungs_follow_ashas_milestones():
    assert rung_epochs(ASHA, 8) == [2, 4]  # milestones 2, 4, 8; the last is the end of training
    assert rung_epochs(SchedulerConfig("asha", 1, 4), 2) == [1]
    assert rung_epochs(SchedulerConfig("asha", 1, 3), 10) == [1, 3, 9]
    assert rung_epochs(SchedulerConfig(), 8) == []
    bracket = make_scheduler(ASHA, 8)._brackets[0]
    assert sorted(m for m, _ in bracket._rungs) == [2, 4, 8]  # the same milestones as Ray's


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
    """What ASHA's bracket reads of a Tune trial: its id."""
    return SimpleNamespace(trial_id=trial_id)


def test_a_resumed_asha_keeps_the_cutoffs_of_earlier_trials():
    scheduler = make_scheduler(ASHA, 8)
    assert seed_scheduler(scheduler, {"a": [(2, 0.5)], "b": [(2, 0.1), (4, 0.2)], "c": []}) == 3
    bracket = scheduler._brackets[0]
    # Median of the seeded rung-2 rewards (0.5, 0.1) is 0.3: a new trial at 0.05 is stopped.
    assert bracket.on_result(stand_in_trial("new"), 2, 0.05) == TrialScheduler.STOP
    assert bracket.on_result(stand_in_trial("good"), 2, 0.4) == TrialScheduler.CONTINUE
    fresh = make_scheduler(ASHA, 8)._brackets[0]
    assert fresh.on_result(stand_in_trial("new"), 2, 0.05) == TrialScheduler.CONTINUE  # no cutoff yet


@pytest.mark.parametrize("rule", ["rung", "skip"])
def test_stopped_trials_teach_the_controller_by_the_rule(rule):
    space = get_space("r0_sp53", block_adjustments=True)
    seen = []
    searcher = make_searcher("reinforce", space, {"batch_size": 2}, stopped_reward=rule, on_complete=seen.append)
    searcher.suggest("t1")
    searcher.suggest("t2")
    searcher.on_trial_complete("t1", {"status": "partial", "reward": 0.01, "AP": 0.01, "epoch": 2})
    searcher.on_trial_complete("t2", {"status": "ok", "reward": 0.05, "AP": 0.05, "epoch": 8})
    assert [(c.status, c.reward) for c in seen] == [("stopped", 0.01), ("ok", 0.05)]
    assert searcher.cache and all(v["reward"] == 0.05 for v in searcher.cache.values())  # only finished results are re-used
    if rule == "rung":  # both completions form one policy update, the stopped one at its rung reward
        assert len(searcher.history) == 1 and searcher.buffer == []
    else:  # the stopped trial is not learned from: one finished trial waits in the batch
        assert searcher.history == [] and [r for _, r in searcher.buffer] == [0.05]


@pytest.mark.slow
def test_asha_search_on_the_tiny_proxy(tmp_path):
    out = tmp_path / "asha"
    # 2 epochs, rung at epoch 1, keep the top quarter: after the first trial most are stopped.
    # One trial at a time keeps the order (and so the stops) deterministic; a batch of 64 keeps
    # every learned reward in the controller's buffer, where the test can read it.
    args = [
        "proxy=synthetic_tiny",
        "proxy.epochs=2",
        "scheduler=asha",
        "scheduler.grace_period=1",
        "scheduler.reduction_factor=4",
        "searcher.batch_size=64",
        "trials=5",
        "max_concurrent=1",
        "trial.cpus=2",
        f"out_dir={out}",
    ]
    summary = run_search(args).summary
    rows = RunFolder(out).read_rows()
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
