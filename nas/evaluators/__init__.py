"""Evaluators: what turns an architecture into metrics and a cost (the reward's inputs).

Owns the `Evaluator` protocol (`base`), the registry of evaluator kinds (options schema, builder),
and the kinds: proxy training (`training`) and the training-free surrogate (`surrogate`). The
Hydra `proxy` group chooses one by its `name` key, as every group chooses its kind. Imports `nas.core`, `proxy_tasks` and
`search_space`; nothing of Ray, the searchers or the layers above.

Adding an evaluator: one module here with its options dataclass (a `name` field defaulting to the
kind's registry name, a `label` and a `seed`) and a class with the protocol's methods, one `EVALUATORS.register` line below, and
a `conf/proxy/<choice>.yaml` that starts from `base_<kind>` (docs/code.md shows it).
"""

from __future__ import annotations

from typing import Any, cast

from nas.evaluators.base import Evaluator, EvaluatorKind, EvaluatorOptions, Reference, TrainingKind, TrialContext, with_overrides
from nas.evaluators.surrogate import SurrogateEvaluator, SurrogateOptions
from nas.evaluators.training import TrainingEvaluator, TrainingOptions
from search_space.registry import Registry

EVALUATORS: Registry[EvaluatorKind] = Registry("evaluator")
COCO_METRICS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "flops", "params", "plateau")
EVALUATORS.register("training", lambda: EvaluatorKind(TrainingOptions, TrainingEvaluator, trains=True, needs_data=True, metrics=COCO_METRICS))
EVALUATORS.register("surrogate", lambda: EvaluatorKind(SurrogateOptions, SurrogateEvaluator, metrics=("AP",)))


def build_evaluator(options: Any) -> Evaluator:
    """The evaluator `options.name` names, built from `options`."""
    return evaluator_kind(options).build(options)


def evaluator_kind(options: EvaluatorOptions) -> EvaluatorKind:
    """The kind (schema, builder, declarations) `options.name` names."""
    return EVALUATORS.get(options.name)


def trainer(evaluator: Evaluator) -> TrainingKind:
    """`evaluator` as a kind that trains (datasets, train, zero-cost scores), by its kind's
    declaration; a `TypeError` for one that does not (commands refuse those in words first)."""
    if not evaluator_kind(evaluator.options).trains:
        raise TypeError(f"evaluator {evaluator.options.name} does not train a detector")
    return cast(TrainingKind, evaluator)


__all__ = [
    "EVALUATORS", "Evaluator", "EvaluatorKind", "EvaluatorOptions", "Reference", "SurrogateOptions", "TrainingKind", "TrainingOptions", "TrialContext",
    "build_evaluator", "evaluator_kind", "trainer", "with_overrides",
]  # fmt: skip
