"""The surrogate: a training-free score (the match with a target architecture), for dry runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from nas.core.schedule import SchedulerConfig
from nas.evaluators.base import Reference, TrialContext
from proxy_tasks.surrogate import SurrogateConfig, SurrogateTask
from search_space.catalog import ModelPreset, resolve_architecture
from search_space.errors import ConfigError
from search_space.spec import Architecture


@dataclass
class SurrogateOptions(SurrogateConfig):
    """`proxy=surrogate`: SurrogateConfig's keys (target, noise, score, duration)."""

    name: str = "surrogate"


class SurrogateEvaluator:
    """Scores an architecture by its match with `target` (plus noise); no model, no epochs."""

    epochs = None

    def __init__(self, options: SurrogateOptions) -> None:
        self.options = options
        self.check()
        self.task = SurrogateTask(options)

    def check(self) -> None:
        try:
            resolve_architecture(self.options.target)  # an unknown target stops the search before it starts
        except (ValueError, KeyError, FileNotFoundError) as e:
            raise ConfigError(f"proxy.target: {' '.join(str(e).split())}") from None

    def fit_to_trial(self, gpus: float) -> None:
        pass

    def evaluate(self, arch: Architecture, ctx: TrialContext) -> dict[str, Any]:
        return self.task.run(arch)

    def cost(self, arch: Architecture, preset: ModelPreset) -> dict[str, int]:
        return {"params": 0, "flops": 0}

    def reference(self, epochs: int) -> Reference:
        return Reference({"noise": 0.0}, "noise-free score", 1.0)  # the surrogate's "longer training"

    def trial_seconds(self, result: Mapping[str, Any], scheduler: SchedulerConfig, steps: int | None) -> tuple[float, dict[str, Any]]:
        return float(result["wall_s"]), {"trial_s": float(result["wall_s"])}
