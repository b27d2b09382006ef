"""`spinenas fidelity`: does a proxy rank architectures the way longer training does?

It samples architectures from the configured space, spread over its FLOPs range (seeded), adds
anchors (the catalog models the proxy can train: SpineNet-49 and the ResNet-50-FPN seed, and the
space's coarsest member, a deliberately poor one), and trains every one with several seeds under
the proxy and once under a longer reference training on the same data. Every run is a Ray trial
through the search's own trial code. The out_dir gets `fidelity.csv` (a row per run, appended as
runs finish, so a killed run resumes with `resume=true`), `fidelity.json` (rank agreement and
signal-to-noise, see `nas/ranking.py`), `fidelity.png`, `config.yaml` and the specs in `archs/`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence


from nas.settings.commands import FidelityOptions
from nas.reporting.fidelity import REFERENCE, FidelityFolder, compare_summaries, format_summary, plot_fidelity, read_summary, summarize
from nas.reporting.planned_folder import SEED, RunKey
from nas.reporting.run_folder import out_dir_of
from nas.runner.campaign import Campaign
from nas.runner.candidates import choose_candidates
from nas.runner.planned import Candidate, PlannedRun
from nas.runner.prepare import prepare
from nas.settings.options import fixed_keys, recorded
from nas.settings.search import SearchSettings, settings_from
from search_space.errors import ConfigError
from search_space.fileio import atomic_write_text

__all__ = ["FidelityOptions", "choose_candidates", "format_summary", "plan_runs", "run_fidelity"]

FIXED = ("space", "proxy", "reward", "preset", *fixed_keys(FidelityOptions, "fidelity"))  # must not change between a run and its resume


@dataclass
class FidelityOutcome:
    """What a finished fidelity run produced."""

    out_dir: Path
    summary: dict[str, Any]


def run_fidelity(given: SearchSettings | Sequence[str], options: FidelityOptions) -> FidelityOutcome:
    """Measure how well the configured proxy ranks architectures; resumable like a search."""
    settings = settings_from(given)
    options = options.resolved(settings)
    out = out_dir_of(settings.top.out_dir, "fidelity")
    record = settings.record(fidelity=recorded(options))
    folder = FidelityFolder(out, settings.metrics)
    earlier = read_summary(options.compare_to) if options.compare_to is not None else None
    campaign = Campaign(settings, folder, record, FIXED, "fidelity", "a fidelity run")
    prepare(settings)  # after the folder's refusal or resume check: a wrong out_dir costs no data read
    candidates = choose_candidates(settings, options.archs)
    if earlier is not None:
        chosen = {c.arch.id for c in candidates}
        shared = sum(a["arch_id"] in chosen for a in earlier["archs"])
        if shared < 2:
            raise ConfigError(f"--compare-to: {options.compare_to} shares {shared} architectures with this run (needs 2; use the same space, seed and --archs)")
    runs = plan_runs(settings, candidates, options)
    folder.planned = runs
    with campaign.open({c.name: c.arch.with_name(c.name) for c in candidates}, len(runs)):
        unknown = {r.values["arch_id"] for r in folder.rows} - {c.arch.id for c in candidates}
        if unknown:
            raise ConfigError(f"resume: {out} holds runs of architectures this config does not choose ({', '.join(sorted(unknown))})")
        campaign.run(runs)
    reference = settings.evaluator.reference(options.reference_epochs).label if options.reference_epochs else None
    header = {"proxy": settings.proxy.label, "space": settings.space.name, "metric": settings.reward.metric, "seeds": options.seeds,
              "reference_epochs": options.reference_epochs, "reference": reference}  # fmt: skip
    summary = summarize(folder.rows, candidates, header, intervals=True)
    if earlier is not None:
        summary["compared_to"] = compare_summaries(summary, earlier, str(options.compare_to))
    atomic_write_text(out / "fidelity.json", json.dumps(summary, indent=2, allow_nan=False, default=str) + "\n")
    plot_fidelity(summary, out / "fidelity.png")
    campaign.print_progress()
    return FidelityOutcome(out, summary)


def plan_runs(settings: SearchSettings, candidates: Sequence[Candidate], options: FidelityOptions) -> list[PlannedRun]:
    """Every proxy seed of every candidate (seed by seed), then the reference runs."""
    base_seed = int(settings.proxy.seed)
    epochs = float(settings.epochs or 1)
    runs = [
        PlannedRun(c, RunKey(SEED, k).cell, base_seed + k, {"seed": base_seed + k}, epochs)
        for k in range(options.seeds)
        for c in candidates
    ]
    if options.reference_epochs:
        ref = settings.evaluator.reference(options.reference_epochs)  # a longer training; the surrogate's noise-free score
        runs += [PlannedRun(c, REFERENCE, base_seed, dict(ref.overrides, seed=base_seed), ref.units) for c in candidates]
    return runs
