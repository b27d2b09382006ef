"""Successive halving over planned runs (nas/runner/halving.py): what each rung trains, who goes on,
why the others stop, and a halt; no Ray (the trainer here records what it was asked to train)."""

from nas.runner.halving import Judgement, seed_rungs, successive_halving
from nas.runner.planned import Candidate, PlannedRun
from search_space.catalog import get_architecture

ARCH = Candidate("spinenet49", "catalog", get_architecture("spinenet49"), 0)
SCORES = {"a": [0.3, 0.31, 0.32, 0.33], "b": [0.2, 0.1, 0.2, 0.2], "c": [0.1, 0.4, 0.1, 0.1], "d": [0.0, 0.0, 0.0, 0.0]}


def plan(c: str, k: int) -> list[PlannedRun]:
    return [PlannedRun(ARCH, f"{c}.seed{k}", k, {})]


def best_half(rung: int, upto: int, alive: list[str]) -> Judgement[str]:
    """The better half by mean score over seeds 0..upto: only the rung's own seeds are read."""
    mean = {c: sum(SCORES[c][: upto + 1]) / (upto + 1) for c in alive}
    ordered = sorted(alive, key=lambda c: -mean[c])
    keep = ordered[: max(1, len(alive) // 2)]
    return Judgement(keep, {c: f"mean {mean[c]:.2f}" for c in alive if c not in keep})


def test_rungs_train_the_survivors_seeds_and_say_why_the_rest_stopped():
    trained: list[tuple[str, list[str]]] = []
    reference = [PlannedRun(ARCH, "reference", 1000, {})]
    stopped = successive_halving(list(SCORES), str, seed_rungs(2, 4), plan, lambda runs, label: trained.append((label, [r.run for r in runs])), best_half,
                                 first=reference, noun="proxies")  # fmt: skip
    assert seed_rungs(2, 4) == [[0], [1], [2, 3]]
    assert trained[0] == ("rung 0: 4 proxies, seeds 0..0", ["reference", "a.seed0", "b.seed0", "c.seed0", "d.seed0"])  # the shared runs on the first rung only
    # After seed 0: a (0.3) and b (0.2) go on; after seeds 0-1, a (0.305) beats b (0.15), whatever c's seed 1 (never run) would say.
    assert trained[1] == ("rung 1: 2 proxies, seeds 1..1", ["a.seed1", "b.seed1"])
    assert trained[2] == ("rung 2: 1 proxies, seeds 2..3", ["a.seed2", "a.seed3"])
    assert stopped == {"c": "stopped after rung 0: mean 0.10", "d": "stopped after rung 0: mean 0.00", "b": "stopped after rung 1: mean 0.15"}


def test_a_halt_stops_every_live_candidate_with_its_reason():
    trained: list[str] = []

    def halt(rung: int, upto: int, alive: list[str]) -> Judgement[str]:
        return Judgement(alive, halt="the reference learns 2 of 7 architectures (< 5)")

    stopped = successive_halving(["a", "b"], str, seed_rungs(2, 3), plan, lambda runs, label: trained.append(label), halt)
    assert trained == ["rung 0: 2 candidates, seeds 0..0"]  # nothing more is spent
    assert stopped == {c: "stopped after rung 0: the reference learns 2 of 7 architectures (< 5)" for c in "ab"}
