"""The Evaluator registry: the kinds it holds, and a kind added at run time flows through the
settings (typed, validated, checked) and the trial code without any other change."""

from dataclasses import dataclass

import pytest

from nas.evaluators import EVALUATORS, EvaluatorKind, Reference, SurrogateOptions, TrainingOptions, TrialContext
from nas.rewards import RewardConfig
from nas.runner.trial import TrialSpec, run_trial
from nas.settings.schemas import ConfigError
from nas.runner.prepare import prepare
from nas.settings.search import load_settings
from search_space import get_space
from search_space.errors import SpineNASError
from search_space.spec import Architecture


@dataclass
class ProbeOptions(SurrogateOptions):
    """A zero-cost evaluator for the test: fewer blocks at level 7 score higher."""

    name: str = "probe"

    def validate(self) -> None:
        if self.noise > 0:
            raise ValueError("proxy.noise must be 0 for the probe")


class ProbeEvaluator:
    epochs = None
    checked = 0

    def __init__(self, options: ProbeOptions) -> None:
        self.options = options

    def check(self) -> None:
        ProbeEvaluator.checked += 1

    def fit_to_trial(self, gpus: float) -> None:
        pass

    def evaluate(self, arch: Architecture, ctx: TrialContext) -> dict:
        return {"AP": 1.0 / (1 + sum(b.level == 7 for b in arch.blocks)), "params": 0, "flops": 0}

    def cost(self, arch: Architecture, preset) -> dict:
        return {"params": 0, "flops": 0}

    def reference(self, epochs: int) -> Reference:
        return Reference({}, "itself", 1.0)

    def trial_seconds(self, result, scheduler, steps):
        return float(result["wall_s"]), {}


def test_the_registry_holds_the_kinds_and_names_them():
    assert EVALUATORS.names()[:2] == ["training", "surrogate"]  # first; a test may register more at run time (tests/test_new_kinds.py)
    assert EVALUATORS.get("training").options is TrainingOptions and EVALUATORS.get("training").trains
    assert not EVALUATORS.get("surrogate").trains
    with pytest.raises(SpineNASError, match="proxy.name: unknown evaluator .nope.; valid: training, surrogate.* \\(it chooses the kind; a run.s own name is proxy.label\\)"):
        load_settings(["proxy=surrogate", "proxy.name=nope"])


def test_a_new_evaluator_needs_only_its_registration(monkeypatch):
    monkeypatch.setitem(EVALUATORS._factories, "probe", lambda: EvaluatorKind(ProbeOptions, ProbeEvaluator))
    ProbeEvaluator.checked = 0
    settings = load_settings(["proxy=surrogate", "proxy.name=probe", "trials=2"])
    assert isinstance(settings.proxy, ProbeOptions) and isinstance(settings.evaluator, ProbeEvaluator)
    assert ProbeEvaluator.checked == 0, "loading settings is passive: the inputs are checked by the prepare step"
    assert prepare(settings) is settings and ProbeEvaluator.checked == 1
    assert settings.epochs is None and settings.eval_at == []
    with pytest.raises(ConfigError, match="proxy.noise must be 0 for the probe"):
        load_settings(["proxy=surrogate", "proxy.name=probe", "proxy.noise=0.1"])
    space = get_space("r35_sp18")
    arch = space.decode(space.sample_actions(__import__("numpy").random.default_rng(0)))
    out = run_trial({"arch": arch.to_dict(), "arch_id": arch.id}, TrialSpec(settings.proxy, RewardConfig(), "spinenet49", threads=1))
    assert out["status"] == "ok" and out["reward"] == pytest.approx(1.0 / (1 + sum(b.level == 7 for b in arch.blocks)))
