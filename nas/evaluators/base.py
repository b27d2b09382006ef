"""The Evaluator protocol: what turns an architecture into metrics and a cost.

A trial (`nas.runner.trial`) builds the evaluator its options name, once per worker process, and
calls `evaluate`; the reward is computed from the metrics it returns. The driver builds one too,
to check the options before Ray starts (`check`), to cost architectures without evaluating them
(`cost`: fidelity's FLOPs spread, plan's typical architecture), and to ask what a longer, more
faithful evaluation is (`reference`) and what one trial costs in time (`trial_seconds`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol, Sequence

from nas.core.schedule import SchedulerConfig
from search_space.catalog import ModelPreset
from search_space.spec import Architecture


@dataclass
class TrialContext:
    """What the runner gives an evaluation besides the architecture: the scaling preset for fields
    the options leave open, the epochs a scheduler evaluates at (`eval_at`, with `on_eval(epoch,
    metrics)` for each), `on_step` for every training step (loss curves), and `max_steps` to stop a
    training early (`spinenas plan` times a few steps)."""

    preset: ModelPreset
    eval_at: Sequence[int] = ()
    on_eval: Callable[[int, dict[str, Any]], None] | None = None
    on_step: Callable[[Any], None] | None = None
    max_steps: int | None = None


@dataclass(frozen=True)
class Reference:
    """A longer, more faithful evaluation than the evaluator's own (fidelity's reference runs):
    the option `overrides` that make it, a `label` for reports, and its cost in `units` (epochs)."""

    overrides: Mapping[str, Any]
    label: str
    units: float


class Evaluator(Protocol):
    """Metrics and a cost for an architecture. `options` is the evaluator's options dataclass (the
    Hydra `proxy` group's node); `epochs` is how many epochs a scheduler may stop between (None:
    the evaluation is not a training a scheduler can stop)."""

    @property
    def options(self) -> EvaluatorOptions: ...

    @property
    def epochs(self) -> int | None: ...

    def check(self) -> None:
        """Raise a `SpineNASError` for anything knowable before the first trial (missing data, an
        unknown target), naming the file, record or key."""

    def fit_to_trial(self, gpus: float) -> None:
        """Adjust the options to the GPU share each trial holds (e.g. cap the CUDA allocator)."""

    def evaluate(self, arch: Architecture, ctx: TrialContext) -> dict[str, Any]:
        """The metrics of `arch`: at least the reward's metric (AP), `params` and `flops`."""

    def cost(self, arch: Architecture, preset: ModelPreset) -> dict[str, int]:
        """`params` and `flops` of what `evaluate` would measure, without evaluating (0: no model)."""

    def reference(self, epochs: int) -> Reference:
        """The longer evaluation fidelity compares with (`epochs`: the length asked for)."""

    def trial_seconds(self, result: Mapping[str, Any], scheduler: SchedulerConfig, steps: int | None) -> tuple[float, dict[str, Any]]:
        """Seconds one trial takes on a warm worker, from a timed trial's `result` (of its first
        `steps` steps when given), and what was measured."""


class EvaluatorOptions(Protocol):
    """What every evaluator kind's options carry (its dataclass has these fields; the rest are the
    kind's own): the registry key of its kind, the choice's name for reports, and the seed that
    fidelity, finalize, proxy-design and the benchmark table replace to run an architecture again."""

    name: str  # the kind, as every group's kind is chosen (`searcher.name`, `reward.name`, `screen.name`)
    label: str
    seed: int


REQUIRED_OPTIONS = ("name", "label", "seed")


class TrainingKind(Evaluator, Protocol):
    """What an evaluator whose kind `trains` adds: its datasets (proxy-design reads their
    statistics), one training that keeps its model (`spinenas train`), and the zero-cost scores of
    an untrained detector (the zero-cost screen, `spinenas screen`)."""

    def datasets(self) -> tuple[Any, Any]:
        """The training and validation datasets (`proxy_tasks.data.CocoDataset`), read once."""

    def prepare(self, preset: ModelPreset, log: Callable[[str], None] | None = None) -> None:
        """Read, check and cache the data a training at `preset` uses, before anything is written."""

    def train(self, arch: Architecture, preset: ModelPreset, on_step: Callable[[Any], None] | None = None) -> Any:
        """Train `arch` once; the result carries the trained `model` and its `metrics`."""

    def zero_cost(self, arch: Architecture, preset: ModelPreset, names: Sequence[str], seed: int) -> dict[str, dict[str, float]]:
        """The zero-cost scores `names` (`proxy_tasks.zero_cost`) of `arch`'s untrained detector as a
        trial with `seed` would build it, on one batch of the training data: {name: {value, ms}}."""


@dataclass(frozen=True)
class EvaluatorKind:
    """An evaluator's options schema and its builder, as the registry holds them, and what the kind
    declares so that callers ask instead of probing: `trains`, it trains a detector that
    `spinenas train` can train and keep and proxy-design can redesign; `needs_data`, its options
    hold a dataset (`options.data`, what `spinenas data` reads); `metrics`, what its results carry
    beyond the reward's objectives, each a trials.csv column."""

    options: type
    build: Callable[[Any], Evaluator]
    trains: bool = False
    needs_data: bool = False
    metrics: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = {f.name for f in dataclasses.fields(self.options)}
        missing = [k for k in REQUIRED_OPTIONS if k not in names]
        if missing:
            raise TypeError(f"evaluator options {self.options.__name__} lack {', '.join(missing)} (every kind's options carry {', '.join(REQUIRED_OPTIONS)})")


def with_overrides(options: Any, overrides: Mapping[str, Any] | None) -> Any:
    """Any evaluator's `options` with some fields replaced for one trial (a seed, a longer
    reference); a dotted key (`model.anchor_size`, `optim.lr`) replaces a field of a nested part."""
    if not overrides:
        return options
    flat: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for key, value in overrides.items():
        head, _, rest = key.partition(".")
        if rest:
            nested.setdefault(head, {})[rest] = value
        else:
            flat[key] = value
    for head, sub in nested.items():
        flat[head] = with_overrides(getattr(options, head), sub)
    return dataclasses.replace(options, **flat)
