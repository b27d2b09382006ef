"""`spinenas screen SPEC...`: zero-cost scores and the predictor's estimate for architectures,
without training them (docs/screen.md).

Each architecture is built as the configured proxy would train it (same detector, same
initialisation seed) and scored on one batch of that proxy's training data; the predictor (by
default the one fitted on the committed benchmark table, `benchmarks/table/predictor.npz`) adds its
estimate of the proxy AP with the ensemble's spread. An architecture the predictor cannot encode (a
catalog model or a spec from another space) gets `n/a` and the reason; a synflow sum beyond float64
is printed as `inf`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from nas.settings.commands import ScreenOptions
from nas.reporting.run_folder import REPO_ROOT
from nas.runner.prepare import prepare
from nas.screening.predictor import Predictor
from nas.settings.search import SearchSettings, settings_from
from search_space.catalog import get_preset, resolve_architecture
from search_space.errors import ConfigError
from search_space.spec import Architecture, SpecError

DEFAULT_PREDICTOR = REPO_ROOT / "benchmarks" / "table" / "predictor.npz"


def run_screen(refs: Sequence[str], given: SearchSettings | Sequence[str], options: ScreenOptions) -> list[dict[str, Any]]:
    """A row per architecture: its name, every score's value and milliseconds, the prediction."""
    from nas.evaluators import evaluator_kind, trainer
    from proxy_tasks.zero_cost import ZERO_COST

    if not refs:
        raise ConfigError("name at least one architecture (a catalog name or a spec file)")
    names = list(options.scores) if options.scores else list(ZERO_COST)
    unknown = [n for n in names if n not in ZERO_COST]
    if unknown:
        raise ConfigError(f"--scores: unknown score {', '.join(unknown)} (known: {', '.join(ZERO_COST)})")
    archs = [(ref, resolve_architecture(ref)) for ref in refs]  # a bad spec is refused before anything is built
    predictor = _predictor(options.predictor)
    settings = settings_from(given)
    if not evaluator_kind(settings.proxy).trains:  # the surrogate scores architectures without data or a model
        raise ConfigError(f"proxy={settings.proxy.label} has no data to score architectures on; screen with a training proxy (e.g. proxy=synthetic)")
    evaluator = trainer(prepare(settings).evaluator)
    preset = get_preset(settings.top.preset)
    rows = []
    for ref, arch in archs:
        scores = evaluator.zero_cost(arch, preset, names, seed=options.seed)
        rows.append({"arch": ref, "arch_id": arch.id, "scores": scores, **_prediction(predictor, arch)})
    return rows


def _predictor(path: Path | None) -> Predictor | None:
    if path is not None:
        return Predictor.load(path)
    return Predictor.load(DEFAULT_PREDICTOR) if DEFAULT_PREDICTOR.exists() else None


def _prediction(predictor: Predictor | None, arch: Architecture) -> dict[str, Any]:
    """The predictor's mean and spread for `arch`, or why there is none."""
    if predictor is None:
        return {"predicted": None, "spread": None, "why": "no predictor (fit one: benchmarks/table/README.md)"}
    if predictor.extras:
        return {"predicted": None, "spread": None, "why": f"this predictor needs {', '.join(predictor.extras)}"}
    try:
        mean, spread = predictor.predict([arch])
    except SpecError as e:
        return {"predicted": None, "spread": None, "why": f"outside the predictor's space: {e}"}
    return {"predicted": float(mean[0]), "spread": float(spread[0]), "why": ""}


def format_screen(rows: Sequence[dict[str, Any]]) -> str:
    """A table: an architecture per line, every score, the prediction; then the cost per score."""
    names = list(rows[0]["scores"])
    width = max(12, *(len(r["arch"]) for r in rows))
    lines = [f"{'architecture':<{width}} " + " ".join(f"{n:>10}" for n in names) + "  predicted AP"]
    for r in rows:
        cells = " ".join(f"{_value(r['scores'][n]['value']):>10}" for n in names)
        pred = f"{r['predicted']:.4f} +- {r['spread']:.4f}" if r["predicted"] is not None else f"n/a ({r['why']})"
        lines.append(f"{r['arch']:<{width}} {cells}  {pred}")
    ms = {n: float(np.mean([r["scores"][n]["ms"] for r in rows])) for n in names}
    lines.append("ms per architecture: " + ", ".join(f"{n} {v:.0f}" for n, v in ms.items()))
    return "\n".join(lines)


def _value(v: float) -> str:
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return f"{v:.4g}"
