"""The screen between a searcher and the runner: unscreened during the warm-up, then the best of
many proposals by the predictor fitted on finished trials; any searcher takes it."""

import html

import numpy as np
import pytest

from nas.runner.screened import ScreenedSearcher
from nas.screening.screen import PredictorScreen
from nas.searchers.base import Proposal
from nas.searchers.random_search import RandomSearcher
from search_space.space import get_space

SPACE = get_space("r0_sp53", block_adjustments=True)


def planted(actions) -> float:
    """A score of the architecture the predictor can learn: coarse early blocks and residual blocks pay."""
    arch = SPACE.decode(actions)
    return sum(b.level for b in arch.blocks[:10]) + 0.5 * sum(b.block_fn == "residual" for b in arch.blocks)


def test_warmup_passes_proposals_on_unscreened_then_the_screen_picks_well():
    rng = np.random.default_rng(0)
    screen = PredictorScreen(SPACE, candidates=64, warmup=5, seed=0)
    draws = iter(range(10**6))

    def propose():
        next(draws)
        return Proposal(SPACE.sample_actions(rng), "")

    first = screen.choose(propose)
    assert first.score is None and next(draws) == 1  # one proposal, passed on as it came
    for _ in range(60):
        actions = SPACE.sample_actions(rng)
        screen.observe(actions, SPACE.decode(actions).id, planted(actions) + rng.normal(0, 1))
    picks, medians = [], []
    for _ in range(5):
        pool = [Proposal(SPACE.sample_actions(rng), "") for _ in range(64)]
        it = iter(pool)
        choice = screen.choose(lambda: next(it))
        assert choice.score is not None and choice.seconds > 0
        picks.append(planted(choice.proposal.actions))
        medians.append(np.percentile([planted(p.actions) for p in pool], 75))
    assert np.mean(picks) > np.mean(medians)  # the screen's picks beat three quarters of what it was offered


def test_any_searcher_takes_a_screen_and_feeds_it_what_finished():
    searcher = RandomSearcher(SPACE, seed=0)
    stage = ScreenedSearcher(searcher, PredictorScreen(SPACE, candidates=16, warmup=3, seed=0))
    for k in range(6):
        config = stage.suggest(str(k))
        stage.on_trial_complete(str(k), {"reward": planted(config["actions"]), "status": "ok"})
    assert len(stage.screen.rows) == 6 and searcher.completed == [str(k) for k in range(6)]
    config = stage.suggest("6")
    proposal = searcher.pending["6"]
    assert proposal.screen_score is not None and proposal.arch_id == config["arch_id"]
    stage.on_trial_complete("7-unknown", {"reward": 1.0})  # an unknown trial teaches the screen nothing
    stage.on_trial_complete("6", {"status": "failed", "error": "x"})  # nor does a failed one
    assert len(stage.screen.rows) == 6


def test_a_search_with_screen_predictor_records_scores_and_resumes_its_data(tmp_path, shared_ray):
    from nas.commands.search import build_searcher, restore, run_search
    from nas.reporting.trials import SearchFolder
    from nas.settings.search import load_settings

    out = tmp_path / "screened"
    args = ["proxy=surrogate", "proxy.noise=0.02", "searcher=random", "screen=predictor", "screen.warmup=4", "screen.candidates=32", f"out_dir={out}"]
    run_search([*args, "trials=8", "max_concurrent=1"])
    rows = SearchFolder(out).read_rows()
    assert len(rows) == 8
    assert all(r.values["screen_score"] == "" for r in rows[:4])  # the warm-up: unscreened
    assert all(float(r.values["screen_score"]) > 0 and float(r.values["screen_s"]) > 0 for r in rows[4:])
    page = (out / "report.html").read_text()
    assert "Screen: predicted against real reward" in page and "4 trials chosen by the screen; Kendall tau of the screen's score against the real reward" in html.unescape(page)
    # A resumed search's screen knows every finished trial again, each once.
    settings = load_settings([*args, "trials=10", "resume=true"])
    searcher = build_searcher(settings)
    stage = ScreenedSearcher(searcher, settings.screen.build(settings.space, 0))
    folder = SearchFolder(out)
    folder.rows = folder.read_rows()
    restore(searcher, folder)
    stage.observe_rows(folder.rows)
    assert len(stage.screen.rows) == len({r.values["arch_id"] for r in rows})


def test_screen_settings_are_checked_in_one_line(capsys, tmp_path):
    from nas.commands.cli import main

    assert main(["search", "screen=predictor", "screen.warmup=1", f"out_dir={tmp_path / 'o'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "screen.warmup >= 2" in err
    assert main(["search", "screen=psychic", f"out_dir={tmp_path / 'o'}"]) == 2
    assert "psychic" in capsys.readouterr().err and not (tmp_path / "o").exists()
    assert main(["search", "proxy=surrogate", "screen=zero_cost", f"out_dir={tmp_path / 'o'}"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "screen=zero_cost scores untrained detectors on the proxy's data, and proxy=surrogate has none" in err
    assert main(["search", "proxy=synthetic_tiny", "screen=zero_cost", "screen.score=luck", f"out_dir={tmp_path / 'o'}"]) == 2
    assert "screen.score: unknown 'luck'; valid: " in capsys.readouterr().err and not (tmp_path / "o").exists()


@pytest.fixture(scope="module")
def scored_pool():
    """Four proposals on the tiny proxy's data and their grad_norm scores, each scored apart (the
    settings' evaluator prepares its data once for the module's tests)."""
    from nas.settings.search import load_settings
    from proxy_tasks.zero_cost import score_architecture
    from search_space.catalog import get_preset

    settings = load_settings(["proxy=synthetic_tiny", "screen=zero_cost", "screen.candidates=4"])
    rng = np.random.default_rng(1)
    pool = [Proposal(SPACE.sample_actions(rng), "") for _ in range(4)]
    name = settings.screen.score
    values = [score_architecture(settings.evaluator.task, SPACE.decode(p.actions), get_preset("spinenet49"), [name], 0)[name]["value"] for p in pool]
    return settings, pool, values


def test_the_zero_cost_screen_passes_on_the_best_scored_proposal_from_the_first_trial(scored_pool):
    """No warm-up: the first choice is already the proposal of highest score (grad_norm, the default) among the candidates,
    scored on a batch of the proxy's own data (checked against scoring each one apart)."""
    from search_space.catalog import get_preset

    settings, pool, values = scored_pool
    screen = settings.screen.build(SPACE, 0, settings.evaluator, get_preset("spinenet49"))
    it = iter(pool)
    choice = screen.choose(lambda: next(it))
    assert settings.screen.score == "grad_norm"
    assert len(set(values)) == 4  # the candidates differ, so the pick means something
    assert choice.proposal is pool[int(np.argmax(values))] and choice.score == max(values) and choice.seconds > 0
    screen.observe(pool[0].actions, SPACE.decode(pool[0].actions).id, 0.1)
    again = iter(pool)
    assert screen.choose(lambda: next(again)).proposal is not pool[0]  # a trained architecture is passed over


class FaultyScoring:
    """The real evaluator, with the scoring of some architectures failing as an out-of-memory would."""

    def __init__(self, real, bad: set[str]) -> None:
        self.real, self.bad = real, bad

    def zero_cost(self, arch, preset, scores, seed):
        if arch.id in self.bad:
            raise RuntimeError("CPU out of memory")
        return self.real.zero_cost(arch, preset, scores, seed)


def test_the_zero_cost_screen_survives_a_scoring_failure_and_stops_when_none_can_be_scored(scored_pool):
    from nas.screening.screen import ZeroCostScreen
    from search_space.catalog import get_preset

    settings, pool, values = scored_pool
    preset = get_preset("spinenet49")
    ids = [SPACE.decode(p.actions).id for p in pool]
    order = np.argsort(values)[::-1]
    best, second = pool[order[0]], pool[order[1]]
    said = []
    faulty = ZeroCostScreen(SPACE, FaultyScoring(settings.evaluator, {ids[order[0]]}), preset, candidates=4, say=said.append)
    it = iter(pool)
    choice = faulty.choose(lambda: next(it))
    assert choice.proposal is second and choice.score == values[order[1]]  # the failing best is passed over, the rest still ranked
    assert len(faulty.failures) == 1 and "CPU out of memory" in said[0] and ids[order[0]] in said[0]
    everything = ZeroCostScreen(SPACE, FaultyScoring(settings.evaluator, set(ids)), preset, candidates=4, say=said.append)
    it = iter(pool)
    with pytest.raises(RuntimeError, match="scoring failed for every one of the 4 proposals .*CPU out of memory.*run without screen="):
        everything.choose(lambda: next(it))  # the screen cannot work here: said, not silently skipped trial after trial
    assert len(everything.failures) == 4
    trained = ZeroCostScreen(SPACE, settings.evaluator, preset, candidates=4, trained=set(ids), say=said.append)
    it = iter(pool + pool[1:2])
    choice = trained.choose(lambda: next(it))
    assert choice.score is None and choice.proposal is pool[1]  # every proposal trained already: the next one, unscreened
    assert best is not second


def test_the_predictor_screen_falls_back_when_every_proposal_is_trained():
    rng = np.random.default_rng(3)
    screen = PredictorScreen(SPACE, candidates=4, warmup=3, seed=0)
    pool = [Proposal(SPACE.sample_actions(rng), "") for _ in range(4)]
    for p in pool:
        screen.observe(p.actions, SPACE.decode(p.actions).id, planted(p.actions))
    it = iter(pool + pool[2:3])
    choice = screen.choose(lambda: next(it))
    assert choice.score is None and choice.proposal is pool[2]  # fitted, but nothing new to score: the next proposal unscreened


def _reinforce(batch: int = 2):
    from nas.searchers import make_searcher, searcher_options

    return make_searcher(searcher_options("reinforce", {"batch_size": batch}), SPACE, seed=0, dedup=False)


def test_teach_all_gives_the_policy_every_proposal_it_scored_with_the_predictions():
    """With screen.teach=all, REINFORCE learns from all K proposals of a screened trial (each a draw
    from its policy, the K-1 passed over with the predictor's estimate), not only from the best-of-K
    pick; the reported mean reward stays the trained ones'. With teach=trained nothing is added."""
    for teach, extra in (("trained", 0), ("all", 7)):
        searcher = _reinforce(batch=2)
        stage = ScreenedSearcher(searcher, PredictorScreen(SPACE, candidates=8, warmup=4, seed=0, teach=teach))
        for k in range(4):  # the warm-up: unscreened, nothing passed over
            config = stage.suggest(str(k))
            assert searcher.pending[str(k)].screened_out == []
            stage.on_trial_complete(str(k), {"reward": planted(config["actions"]), "status": "ok"})
        for k in (4, 5):
            stage.suggest(str(k))
        passed = searcher.pending["4"].screened_out
        assert len(passed) == extra
        if extra:
            logp, _ = searcher.controller.evaluate([a for a, _, _, _ in passed])
            assert np.allclose(logp.detach().numpy(), [lp for _, lp, _, _ in passed], atol=1e-5)  # draws of the policy, their own log-probabilities
            predicted, _ = stage.screen._fit().predict([SPACE.decode(a) for a, _, _, _ in passed])
            assert np.allclose(predicted, [v for _, _, _, v in passed])
        rewards = {}
        for k in ("4", "5"):
            rewards[k] = planted(searcher.pending[k].actions)
            stage.on_trial_complete(k, {"reward": rewards[k], "status": "ok"})
        last = searcher.history[-1]
        assert (last["batch"], last["taught"]) == (2, 2 * extra)
        assert last["mean_reward"] == pytest.approx((rewards["4"] + rewards["5"]) / 2)


def test_teach_all_state_round_trips_and_needs_the_predictor_screen():
    from nas.screening.options import PredictorScreenOptions
    from nas.settings.search import load_settings
    from search_space.errors import ConfigError

    searcher = _reinforce(batch=4)
    stage = ScreenedSearcher(searcher, PredictorScreen(SPACE, candidates=4, warmup=2, seed=0, teach="all"))
    for k in range(3):
        config = stage.suggest(str(k))
        stage.on_trial_complete(str(k), {"reward": planted(config["actions"]), "status": "ok"})
    assert len(searcher.taught) == 3  # the third trial was screened: 3 passed over, waiting for the batch
    meta, tensors = searcher.algorithm_state()
    again = _reinforce(batch=4)
    again.load_algorithm_state(meta, tensors)
    assert [(s.actions, r) for s, r in again.taught] == [(s.actions, r) for s, r in searcher.taught]
    with pytest.raises(ConfigError, match="teach"):  # a key of the predictor screen's, not the zero-cost one's
        load_settings(["proxy=synthetic_tiny", "screen=zero_cost", "screen.teach=all"])
    with pytest.raises(ValueError, match="screen.teach must be trained or all"):
        PredictorScreenOptions(teach="everything").validate()


def test_a_screen_saved_before_the_screen_kinds_is_read_and_compares_equal_on_resume():
    """Run folders from before 2026-12-07's screen kinds hold one flat node with every kind's keys:
    read as the kind it names (the other kinds' keys dropped), equal to the same screen composed now;
    a node in this version's layout with a stray key is still refused."""
    from omegaconf import OmegaConf

    from nas.screening.options import PredictorScreenOptions, ZeroCostScreenOptions
    from nas.settings.schemas import normalized, screen_config
    from nas.settings.search import load_settings
    from search_space.errors import ConfigError

    flat = {"name": "predictor", "candidates": 64, "warmup": 8, "kappa": 1.0, "kind": "gbr", "encoding": "structure", "score": "grad_norm"}
    assert screen_config(OmegaConf.create(flat)) == PredictorScreenOptions(candidates=64)
    now = load_settings(["screen=predictor", "screen.candidates=64"]).cfg.screen
    assert normalized("screen", OmegaConf.create(flat)) == normalized("screen", now)
    zero = {**flat, "name": "zero_cost", "candidates": 16}
    assert screen_config(OmegaConf.create(zero)) == ZeroCostScreenOptions()
    with pytest.raises(ConfigError, match="unknown config key 'screen.score'"):
        screen_config(OmegaConf.create({"name": "predictor", "score": "naswot"}))
