"""Proxy training: a reduced-size RetinaNet on the architecture, trained briefly, scored by COCO AP."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from nas.core.schedule import SchedulerConfig, expected_epochs, rung_epochs
from nas.evaluators.base import Reference, TrialContext
from proxy_tasks.config import ProxyConfig
from search_space.catalog import ModelPreset
from search_space.spec import Architecture

if TYPE_CHECKING:  # torch loads with the first task, not with the config schemas
    from proxy_tasks.task import ProxyTask


@dataclass
class TrainingOptions(ProxyConfig):
    """`proxy=synthetic|synthetic_tiny|coco|custom|full`: a training recipe (ProxyConfig's keys)."""

    name: str = "training"


_TASKS: list[ProxyTask] = []  # this process's tasks, most recently used last: options that differ only in seed or length share prepared data
MAX_DATASETS = 2  # prepared datasets a worker keeps (proxy-design's candidates differ in their data; each costs its decoded images)


def shared_task(options: ProxyConfig) -> ProxyTask:
    """A quiet `ProxyTask` for `options` that shares the validated, cached data of an earlier task of
    this process on the same data (a re-used trial worker prepares its data once); a worker keeps the
    data of its `MAX_DATASETS` most recently used datasets."""
    from proxy_tasks.task import ProxyTask

    sibling = next((t for t in _TASKS if t.config.data == options.data), None)
    task = sibling.variant(options) if sibling else ProxyTask(options, log=lambda _msg: None)
    if sibling is not None:
        _TASKS.remove(sibling)
    _TASKS.append(sibling or task)
    del _TASKS[:-MAX_DATASETS]
    return task


class TrainingEvaluator:
    """Trains the proxy detector (`ProxyTask.run`) and returns its metrics."""

    def __init__(self, options: TrainingOptions) -> None:
        self.options = options
        self._task: ProxyTask | None = None

    @property
    def task(self) -> ProxyTask:
        if self._task is None:
            self._task = shared_task(self.options)
        return self._task

    @property
    def epochs(self) -> int:
        return self.options.epochs

    def prepare(self, preset: ModelPreset, log: Any = None) -> None:
        """Read, check and cache the data at the size a training at `preset` uses (a bad file stops
        here, before anything is written), telling `log` what it does."""
        if log is not None:
            self.task.log = log
        self.task.prepare(self.options.image_size or preset.image_size)

    def train(self, arch: Architecture, preset: ModelPreset, on_step: Any = None) -> Any:
        """Train `arch` once and keep the model (`spinenas train`): the task's result, with `model` and `metrics`."""
        return self.task.run(arch, preset, on_step=on_step)

    def zero_cost(self, arch: Architecture, preset: ModelPreset, names: Sequence[str], seed: int) -> dict[str, dict[str, float]]:
        """`arch`'s zero-cost scores as a trial with `seed` would build it, on one batch of the data."""
        from proxy_tasks.zero_cost import score_architecture

        return score_architecture(self.task, arch, preset, list(names), seed)

    def datasets(self) -> tuple[Any, Any]:
        """The training and validation datasets, read and checked once (shared by the worker's runs)."""
        return self.task.loaded()

    def check(self) -> None:
        """Every annotation record and image file (the check `spinenas train` runs); boxes and
        images dropped under proxy.data.bad_boxes/bad_images=drop are reported here, at start-up."""
        import sys

        from proxy_tasks.stats import dropped_lines

        for line in dropped_lines(*self.task.loaded()):
            print(f"data: {line}", file=sys.stderr)

    def fit_to_trial(self, gpus: float) -> None:
        if self.options.gpu_memory_fraction is None and 0 < gpus < 1:
            self.options.gpu_memory_fraction = gpus  # trials sharing a GPU each keep to their share
            self._task = None

    def evaluate(self, arch: Architecture, ctx: TrialContext) -> dict[str, Any]:
        result = self.task.run(arch, ctx.preset, eval_at=ctx.eval_at, on_eval=ctx.on_eval, max_steps=ctx.max_steps, on_step=ctx.on_step)
        return result.metrics

    def cost(self, arch: Architecture, preset: ModelPreset) -> dict[str, int]:
        return self.task.model_cost(arch, preset)

    def reference(self, epochs: int) -> Reference:
        return Reference({"epochs": epochs}, f"{epochs} epochs", float(epochs))

    def trial_seconds(self, result: Mapping[str, Any], scheduler: SchedulerConfig, steps: int | None) -> tuple[float, dict[str, Any]]:
        """Build, the first step's extra cost, the epochs ASHA is expected to train (from the timed
        steps), its rung evaluations and the final evaluation."""
        epochs = int(result["epochs"])
        step_s = float(result["step_s"])
        steps_per_epoch = int(result["steps_per_epoch"])
        overhead = float(result["first_step_s"]) - step_s
        rungs = rung_epochs(scheduler, epochs)
        if steps is None and rungs:
            rung_eval_s = float(result["rung_eval_s"]) / len(rungs)
        else:  # a rung evaluation is a final evaluation's work, on its share of the validation images (proxy.rung_val_images)
            share = 1.0 if self.options.rung_val_images is None else min(1.0, self.options.rung_val_images / len(self.datasets()[1].images))
            rung_eval_s = float(result["eval_s"]) * share
        trained_epochs, evals = expected_epochs(scheduler, epochs)
        per_trial = float(result["build_s"]) + max(0.0, overhead) + trained_epochs * steps_per_epoch * step_s + evals * rung_eval_s + float(result["eval_s"])
        measured = {
            "mode": "full trial" if steps is None else f"{steps} steps",
            "steps_timed": int(result["steps"]),
            "step_s": step_s,
            "steps_per_epoch": steps_per_epoch,
            "epochs": epochs,
            "expected_epochs": trained_epochs,
            "rung_evaluations": evals,
            "build_s": float(result["build_s"]),
            "eval_s": float(result["eval_s"]),
            "timed_wall_s": float(result["wall_s"]),
            "device": str(result.get("device", "")),
        }
        return per_trial, measured
