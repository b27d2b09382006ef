import json
import math
import random

import pytest
import torch

from nas.settings.schemas import compose
from nas.searchers import make_searcher, searcher_options
from nas.searchers.evolution import mutate
from proxy_tasks.surrogate import SurrogateConfig, SurrogateTask
from search_space import get_space

SPACE = get_space("r35_sp18", block_adjustments=True)
OPTIONS = {
    "reinforce": {"batch_size": 3}, "ppo": {"batch_size": 3}, "evolution": {"population": 6, "sample_size": 2}, "random": {},
    "pareto": {"population": 6, "sample_size": 2},
}  # fmt: skip
TASK = SurrogateTask(SurrogateConfig(target="spinenet49"))


def stand_in_latency(arch):
    """A cost that grows with fine levels and bottlenecks, as latency does (a test objective)."""
    return float(sum(2 ** (7 - b.level) * (4 if b.block_fn == "bottleneck" else 1) for b in arch.blocks))


def drive(searcher, start, n, space=SPACE):
    """Suggest and complete n trials in order; returns the suggested action lists."""
    out = []
    for i in range(start, start + n):
        cfg = searcher.suggest(f"t{i}")
        out.append(cfg["actions"])
        arch = space.decode(cfg["actions"])
        ap = float(TASK.run(arch)["AP"])
        searcher.on_trial_complete(f"t{i}", {"reward": ap, "AP": ap, "latency_ms": stand_in_latency(arch)})
    return out


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_save_restore_continue_matches_uninterrupted(name, tmp_path):
    a = make_searcher(searcher_options(name, OPTIONS[name]), SPACE, seed=7, dedup=False)
    drive(a, 0, 10)
    a.save(str(tmp_path / "s.json"))
    b = make_searcher(searcher_options(name, OPTIONS[name]), SPACE, seed=123, dedup=False)
    b.restore(str(tmp_path / "s.json"))
    assert drive(a, 10, 10) == drive(b, 10, 10)
    state = json.loads((tmp_path / "s.json").read_text())
    assert state["searcher"] == name and len(state["completed"]) == 10


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_completions_are_tolerant(name):
    s = make_searcher(searcher_options(name, OPTIONS[name]), SPACE, seed=0, failure_reward=-1.0)
    for i in range(4):
        s.suggest(f"t{i}")
    seen = [s.complete("t0", None, error=True), s.complete("t1", {"AP": 0.3})]  # the second: no reward key
    seen += [s.complete("t2", {"reward": float("nan")}), s.complete("t3", {"reward": 0.4})]
    assert s.complete("t3", {"reward": 0.9}) is None  # a repeat is logged and ignored
    assert s.complete("never-suggested", {"reward": 1.0}) is None
    assert [c.status for c in seen] == ["failed", "failed", "failed", "ok"]
    assert [c.reward for c in seen] == [-1.0, -1.0, -1.0, 0.4]
    assert "worker was lost" in seen[0].result["error"] and "no finite reward" in seen[1].result["error"]


def test_duplicates_reuse_the_cached_result():
    s = make_searcher(searcher_options("random", {}), SPACE, seed=0, dedup=True)
    first = s.suggest("a")
    s.on_trial_complete("a", {"reward": 0.5, "AP": 0.5, "flops": 10})
    s.pending.clear()
    s.rng = type(s.rng)(type(s.rng.bit_generator)(0))  # same stream: proposes the same architecture
    s.seed = 0
    again = s.suggest("b")
    assert again["arch_id"] == first["arch_id"] and again["cached_result"]["AP"] == 0.5


def test_mutation_changes_one_decision_and_stays_valid():
    import numpy as np

    rng = np.random.default_rng(0)
    for _ in range(50):
        parent = SPACE.sample_actions(rng)
        child = mutate(SPACE, parent, rng)
        SPACE.decode(child)
        first = next(i for i, (a, b) in enumerate(zip(parent, child)) if a != b)
        assert child[:first] == parent[:first]


def test_restore_rejects_other_space_and_torn_state(tmp_path):
    a = make_searcher(searcher_options("reinforce", {"batch_size": 2}), SPACE, seed=0)
    drive(a, 0, 2)
    a.save(str(tmp_path / "s.json"))
    other = make_searcher(searcher_options("reinforce", {"batch_size": 2}), get_space("r35_sp18"), seed=0)
    with pytest.raises(ValueError, match="saved for space"):
        other.restore(str(tmp_path / "s.json"))
    tensor_file = tmp_path / json.loads((tmp_path / "s.json").read_text())["tensors_file"]
    tensor_file.write_bytes(b"torn")
    with pytest.raises(ValueError, match="does not match"):
        make_searcher(searcher_options("reinforce", {"batch_size": 2}), SPACE).restore(str(tmp_path / "s.json"))


def test_save_killed_between_its_two_files_leaves_the_earlier_state(tmp_path, monkeypatch):
    """A search killed after the tensors were written but before the JSON naming them (the window
    a kill -9 once hit in CI) resumes from the previous save; a finished save removes older tensors."""
    import nas.searchers.base as base

    a = make_searcher(searcher_options("reinforce", {"batch_size": 2}), SPACE, seed=0)
    drive(a, 0, 4)
    a.save(str(tmp_path / "s.json"))
    saved = a.algorithm_state()[1]
    drive(a, 4, 8)  # two more updates: other tensors

    def killed(path, text):
        raise KeyboardInterrupt("killed before the JSON was written")

    monkeypatch.setattr(base, "atomic_write_text", killed)
    with pytest.raises(KeyboardInterrupt):
        a.save(str(tmp_path / "s.json"))
    monkeypatch.undo()
    assert len(list(tmp_path.glob("s.json.*.pt"))) == 2  # the new tensors landed, the JSON still names the old
    b = make_searcher(searcher_options("reinforce", {"batch_size": 2}), SPACE, seed=1)
    b.restore(str(tmp_path / "s.json"))
    assert len(b.completed) == 4
    restored = b.algorithm_state()[1]
    assert restored.keys() == saved.keys()
    assert any(not torch.equal(saved[k], v) for k, v in a.algorithm_state()[1].items() if isinstance(v, torch.Tensor))
    for key, value in saved.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(restored[key], value), key
    a.save(str(tmp_path / "s.json"))
    assert len(list(tmp_path.glob("s.json.*.pt"))) == 1


def test_unknown_searcher_lists_valid_names():
    with pytest.raises(KeyError, match="reinforce, ppo, evolution, random"):
        make_searcher(searcher_options("bayes", {}), SPACE)


def surrogate_rewards(name, options, seed, trials, noise=0.0):
    """Rewards, in order, of a searcher run for `trials` on the R0-SP53 surrogate (SpineNet-49 target)."""
    space = get_space("r0_sp53", block_adjustments=True)
    task = SurrogateTask(SurrogateConfig(target="spinenet49", noise=noise))
    s = make_searcher(searcher_options(name, options), space, seed=seed, dedup=False)
    rewards = []
    for i in range(trials):
        cfg = s.suggest(str(i))
        rewards.append(task.run(space.decode(cfg["actions"]))["AP"])
        s.on_trial_complete(str(i), {"reward": rewards[-1]})
    return rewards


def test_reinforce_beats_random_on_the_surrogate():
    def best_mean(name, options):
        out = [sum(surrogate_rewards(name, options, seed, 240)[-40:]) / 40 for seed in range(2)]
        return sum(out) / len(out)

    assert best_mean("reinforce", {"batch_size": 8, "lr": 0.01}) > best_mean("random", {}) + 0.05
    assert not math.isnan(best_mean("random", {}))


def test_reuse_is_saved_restored_and_changes_learning(tmp_path):
    options = {"batch_size": 2, "reuse": 4}
    a = make_searcher(searcher_options("reinforce", options), SPACE, seed=5, dedup=False)
    drive(a, 0, 9)  # four updates and one completion waiting in the buffer
    assert len(a.recent) == 4 and len(a.buffer) == 1
    a.save(str(tmp_path / "s.json"))
    b = make_searcher(searcher_options("reinforce", options), SPACE, seed=0, dedup=False)
    b.restore(str(tmp_path / "s.json"))
    assert [(s.actions, adv) for s, adv in b.recent] == [(s.actions, adv) for s, adv in a.recent]
    assert drive(a, 9, 8) == drive(b, 9, 8)

    # Same seed and rewards without re-use: the policy moves differently.
    c = make_searcher(searcher_options("reinforce", {"batch_size": 2, "reuse": 0}), SPACE, seed=5, dedup=False)
    d = make_searcher(searcher_options("reinforce", options), SPACE, seed=5, dedup=False)
    drive(c, 0, 6)
    drive(d, 0, 6)
    assert c.recent == [] and len(d.recent) == 4
    pc, pd = c.controller.policy.state_dict(), d.controller.policy.state_dict()
    assert any(not torch.equal(pc[k], pd[k]) for k in pc)


def test_default_reinforce_learns_within_a_hundred_trials():
    """The shipped defaults (conf/searcher/reinforce.yaml) gain over random search early, which is
    where real searches of tens to hundreds of trials live."""

    def last_third(name, options, seed):
        return sum(surrogate_rewards(name, options, seed, 96, noise=0.02)[-32:]) / 32

    shipped = {k: v for k, v in compose("search", []).searcher.items() if k != "name"}
    reinforce = [last_third("reinforce", shipped, seed) for seed in range(3)]
    random = [last_third("random", {}, seed) for seed in range(3)]
    assert sum(reinforce) / 3 > sum(random) / 3 + 0.05


def test_out_of_order_completions_are_each_learnt_once():
    """Eight trials in flight, completed in a shuffled order: every completion enters exactly one
    update (or still waits in the buffer), with the log-probability of the policy that sampled it."""
    s = make_searcher(searcher_options("reinforce", {"batch_size": 2, "reuse": 4}), SPACE, concurrency=8, seed=1, dedup=False)
    assert s.batch_size == 4  # at least half the trials in flight per update
    rng = random.Random(0)
    in_flight, done, sampled_logp = [], 0, {}
    for i in range(8):
        s.suggest(f"t{i}")
        in_flight.append(f"t{i}")
        sampled_logp[f"t{i}"] = s.pending[f"t{i}"].log_prob
    next_id = 8
    while in_flight:
        tid = in_flight.pop(rng.randrange(len(in_flight)))
        proposal = s.pending[tid]
        assert proposal.log_prob == sampled_logp[tid]  # stale samples keep their sampling-time log-prob
        s.on_trial_complete(tid, {"reward": float(TASK.run(SPACE.decode(proposal.actions))["AP"])})
        done += 1
        if next_id < 30:
            tid = f"t{next_id}"
            s.suggest(tid)
            sampled_logp[tid] = s.pending[tid].log_prob
            in_flight.append(tid)
            next_id += 1
    assert done == 30 and len(s.completed) == 30
    assert sum(h["batch"] for h in s.history) + len(s.buffer) == 30
    assert all(h["batch"] == 4 for h in s.history) and len(s.history) == 7


def test_batch_grows_after_late_after_and_survives_a_restore(tmp_path):
    options = {"batch_size": 2, "late_batch_size": 8, "late_after": 4, "reuse": 0}
    a = make_searcher(searcher_options("reinforce", options), SPACE, seed=2, dedup=False)
    drive(a, 0, 6)
    assert [h["batch"] for h in a.history] == [2, 2] and a.batch_size == 8 and len(a.buffer) == 2
    a.save(str(tmp_path / "s.json"))
    b = make_searcher(searcher_options("reinforce", options), SPACE, seed=2, dedup=False)
    b.restore(str(tmp_path / "s.json"))
    assert b.learnt == 4 and b.batch_size == 8
    drive(a, 6, 6)
    drive(b, 6, 6)
    # The restored searcher carries the update history on (the report plots it) and continues alike.
    assert [h["batch"] for h in a.history] == [h["batch"] for h in b.history] == [2, 2, 8]
    assert [h["mean_reward"] for h in a.history] == [h["mean_reward"] for h in b.history]
    # Many workers raise the floor: 32 in flight -> at least 16 completions per update.
    assert make_searcher(searcher_options("reinforce", options), SPACE, concurrency=32, seed=0).batch_size == 16


def test_pareto_searcher_finds_a_larger_front_than_random_at_equal_budget():
    """Non-dominated sorting evolution against random search: 120 trials, 4 seeds, hypervolume of
    (surrogate AP, a stand-in latency) up to the same reference."""
    from nas.core.pareto import hypervolume

    space = get_space("r0_sp53", block_adjustments=True)
    ref = max(stand_in_latency(space.sample(k)) for k in range(200))
    volumes = {}
    for name in ("pareto", "random"):
        for seed in range(4):
            s = make_searcher(searcher_options(name, {}), space, seed=seed, dedup=False)  # the defaults
            archs = [space.decode(a) for a in drive(s, 0, 120, space)]
            pts = [(stand_in_latency(a), float(TASK.run(a)["AP"])) for a in archs]
            volumes.setdefault(name, []).append(hypervolume(pts, ref))
    assert min(volumes["pareto"]) > max(volumes["random"]), volumes


def test_pareto_population_keeps_the_front():
    s = make_searcher(searcher_options("pareto", {"population": 3, "sample_size": 2}), SPACE, seed=0, dedup=False)
    for i, (ap, ms) in enumerate([(0.5, 10.0), (0.6, 20.0), (0.1, 30.0), (0.2, 5.0), (0.3, 40.0)]):
        s.suggest(f"t{i}")
        s.on_trial_complete(f"t{i}", {"reward": ap, "AP": ap, "latency_ms": ms})
    assert sorted((c, v) for _, c, v in s.population) == [(5.0, 0.2), (10.0, 0.5), (20.0, 0.6)]
    s.suggest("stopped")
    s.complete("stopped", {"reward": 0.9, "AP": 0.9, "latency_ms": 1.0, "status": "partial"})  # stopped at a rung: no final AP
    s.suggest("no-latency")
    s.on_trial_complete("no-latency", {"reward": 0.9, "AP": 0.9})
    assert len(s.population) == 3 and all(v < 0.9 for _, _, v in s.population)
