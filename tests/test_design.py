"""The proxy-design rules: sizes and anchors from dataset statistics, candidates within the budget."""

import random

import pytest

from proxy_tasks.design import MIN_STEPS, StepTiming, best_anchor, candidates, narrowed, reference_overrides, rules_from_stats, score
from search_space.errors import ConfigError


def stats_with(median_px_at: dict[int, float], small_at: dict[int, float], rel=(0.4, 0.7, 0.9), images=160):
    return {
        "train": {
            "images": images,
            "relative_size": {"p10": rel[0], "median": rel[1], "p90": rel[2]},
            "at_input_size": {s: {"median_px": median_px_at[s], "share_under_small": small_at[s]} for s in median_px_at},
        }
    }


LARGE = stats_with({128: 75, 256: 150, 384: 225, 512: 300}, {128: 0, 256: 0, 384: 0, 512: 0})
SMALL = stats_with({128: 5, 256: 10, 384: 15, 512: 20}, {128: 0.7, 256: 0.4, 384: 0.2, 512: 0.08}, rel=(0.017, 0.04, 0.09), images=400)
TIMINGS = {128: StepTiming(128, 0.5, 2.0), 256: StepTiming(256, 1.8, 5.0), 384: StepTiming(384, 4.0, 9.0), 512: StepTiming(512, 7.0, 14.0)}


def test_sizes_follow_the_objects():
    assert rules_from_stats(LARGE).sizes == [128, 256]  # big objects: the smallest size shows them
    assert rules_from_stats(SMALL).sizes == [512]  # small ones need the largest (nothing above it to try)
    assert rules_from_stats(LARGE).batch_size == 8 and rules_from_stats(stats_with({128: 75}, {128: 0}, images=40)).batch_size == 4


def test_anchor_covers_the_boxes():
    assert best_anchor(LARGE["train"], 128) == (2.0, 1.0)  # everything covered: ties go to the smaller anchor
    assert best_anchor({"relative_size": {"p10": 0.005, "median": 0.01, "p90": 0.02}}, 512)[0] == 2.0
    # big boxes at a large input: only the larger anchors reach them
    assert best_anchor({"relative_size": {"p10": 1.0, "median": 1.0, "p90": 1.0}}, 640)[0] == 3.0


def test_candidates_fit_the_budget_cheapest_first_without_duplicates():
    rules = rules_from_stats(LARGE)
    cands, notes = candidates(rules, TIMINGS, 60.0, 160)
    assert cands and all(c.est_trial_s <= 60.0 for c in cands)
    assert [c.est_trial_s for c in cands] == sorted(c.est_trial_s for c in cands)
    assert len({repr(sorted(c.overrides.items())) for c in cands}) == len(cands)
    assert {c.overrides["optim.lr"] for c in cands} == {0.001, 0.003}
    for c in cands:  # whole epochs, each over all 160 images or the share that fills it
        per_epoch = (c.overrides.get("data.max_train_images") or 160) // 8
        assert c.steps == c.overrides["epochs"] * per_epoch and MIN_STEPS - c.overrides["epochs"] <= c.steps <= 116
    assert max(c.steps for c in cands) > 100  # the budget's 116 steps are not rounded down to 100
    assert any("256 px does not fit" in n and "about 185 s" in n for n in notes)  # 60 s buys 30 steps at 256 px; 100 need 5 + 180 s
    bigger, _ = candidates(rules, TIMINGS, 200.0, 160)
    assert {c.overrides["image_size"] for c in bigger} == {128, 256}


def test_a_user_narrows_the_sizes_and_learning_rates_an_earlier_design_ruled_out():
    rules = rules_from_stats(LARGE)  # 128 and 256 px, lr 0.001 and 0.003
    narrow = narrowed(rules, sizes=[128], learning_rates=[0.001])
    cands, _ = candidates(narrow, TIMINGS, 200.0, 160)
    assert cands and {(c.overrides["image_size"], c.overrides["optim.lr"]) for c in cands} == {(128, 0.001)}
    assert len(cands) == 2  # the budget's steps and half of them, each once
    assert "--sizes" in narrow.reasons[-2] and "the data's rule says 128 px, 256 px" in narrow.reasons[-2] and "0.001" in narrow.reasons[-1]
    assert narrowed(rules) == rules  # nothing given: the derived rules as they are
    assert narrowed(rules, sizes=[512]).sizes == [512]  # a size the rule did not pick is the user's to try
    with pytest.raises(ConfigError, match="--sizes 200: a design measures 128, 256, 384, 512 px only"):
        narrowed(rules, sizes=[200])
    with pytest.raises(ConfigError, match="--lrs 3"):
        narrowed(rules, learning_rates=[3.0])


def test_few_steps_train_on_a_share_of_the_data():
    rules = rules_from_stats(stats_with({128: 75, 256: 150}, {128: 0, 256: 0}, images=4000))
    cands, _ = candidates(rules, TIMINGS, 60.0, 4000)
    assert all(c.overrides["data.max_train_images"] == c.steps * 8 and c.overrides["epochs"] == 1 for c in cands)


def test_reference_is_longer_and_larger_when_affordable():
    rules = rules_from_stats(LARGE)
    cands, _ = candidates(rules, TIMINGS, 60.0, 160)
    longest = max(cands, key=lambda c: c.steps)
    ref, steps, _ = reference_overrides(rules, TIMINGS, longest, 240.0, 160)
    assert ref["image_size"] == 128 and steps >= 3 * longest.steps  # 240 s at 256 px is fewer than 2x the steps
    ref, steps, est = reference_overrides(rules, TIMINGS, longest, 1000.0, 160)
    assert ref["image_size"] == 256 and steps >= 2 * longest.steps and est <= 1000.0


def test_score_is_the_weakest_threshold_share():
    t = {"seed_tau": 0.6, "snr": 3.0, "reference_tau": 0.65}
    assert score(0.9, 6.0, 0.65, t) == pytest.approx(1.0)
    assert score(0.3, 6.0, 0.9, t) == pytest.approx(0.5)
    assert score(None, 6.0, 0.9, t) == 0.0


def test_the_steps_within_a_trials_seconds_are_the_steps_it_was_timed_for():
    rng = random.Random(0)
    for _ in range(10_000):
        timing = StepTiming(128, rng.uniform(0.01, 2.0), rng.uniform(0.1, 10.0))
        n = rng.randrange(1, 5000)
        assert timing.steps_within(timing.seconds(n)) == n
        assert timing.steps_within(timing.seconds(n) - timing.step_s / 100) == n - 1


def test_a_size_whose_trials_do_not_fit_the_memory_is_left_out_and_named():
    rules = rules_from_stats(LARGE)  # 128 and 256 px
    heavy = {**TIMINGS, 128: StepTiming(128, 0.5, 2.0, peak_mb=900.0), 256: StepTiming(256, 1.8, 5.0, peak_mb=9500.0)}
    everything, _ = candidates(rules, heavy, 600.0, 160)
    fitting, notes = candidates(rules, heavy, 600.0, 160, memory_mb=8000.0)
    assert {c.overrides["image_size"] for c in everything} == {128, 256}
    assert {c.overrides["image_size"] for c in fitting} == {128}
    assert notes == ["256 px does not fit the memory: a trial peaked at 9.3 GB, 7.8 GB is each trial's share here"]
    assert candidates(rules, TIMINGS, 600.0, 160, memory_mb=1.0)[0] == candidates(rules, TIMINGS, 600.0, 160)[0]  # peaks not measured: no filter
