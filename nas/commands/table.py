"""`spinenas table`: a benchmark table of a search space, trained on a proxy (resumable).

Architectures are drawn uniformly from the space (each controller decision uniform, as
`SearchSpace.sample` draws them, seeded by `seed`: the first `--archs` distinct draws, so a larger
`--archs` on resume adds rows and keeps the old ones), plus the anchors SpineNet-49, the R50-FPN
seed and the space's coarsest member. Each is trained with `--seeds` seeds on the configured proxy,
with AP also measured after the `--probe-at` fractions of training (the multi-fidelity points a
scheduler or predictor can use). The out_dir gets `runs.csv` (a row per training, appended as runs
finish), `table.csv` (a row per architecture), `table.json`, `config.yaml` and every spec in
`archs/<arch_id>.yaml`.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence


from nas.settings.commands import TableOptions
from nas.reporting.bench_table import TableFolder, arch_table, format_table_summary, read_runs, summarize_table, write_table
from nas.reporting.planned_folder import SEED, RunKey
from nas.reporting.run_folder import out_dir_of
from nas.runner.campaign import Campaign
from nas.runner.candidates import uniform_candidates
from nas.runner.planned import Candidate, PlannedRun
from nas.runner.prepare import prepare
from nas.settings.options import fixed_keys, recorded
from nas.settings.search import SearchSettings, list_override, settings_from
from search_space.errors import InputError
from search_space.fileio import atomic_write_text

FIXED = ("space", "proxy", "reward", "preset", "seed", *fixed_keys(TableOptions, "table"))  # must not change between a run and its resume (--archs and --seeds may grow)


@dataclass
class TableOutcome:
    out_dir: Path
    summary: dict[str, Any]


def plan_table(settings: SearchSettings, candidates: Sequence[Candidate], seeds: int) -> list[PlannedRun]:
    """Every seed of one architecture after the other (a cut table holds whole architectures)."""
    base = int(settings.proxy.seed)
    return [PlannedRun(c, RunKey(SEED, k).cell, base + k, {"seed": base + k}) for c in candidates for k in range(seeds)]


def run_table(given: SearchSettings | Sequence[str], options: TableOptions) -> TableOutcome:
    """Train the table's runs not yet in out_dir, then write table.csv and table.json. Given
    overrides, the probe points `options` name join them; given settings (the command line's), they
    were loaded with them."""
    options.check()
    given = given if isinstance(given, SearchSettings) else [list_override("proxy.probe_at", options.probe_at), *given]
    settings = settings_from(given)
    out = out_dir_of(settings.top.out_dir, "table")
    record = settings.record(table=recorded(options))
    folder = TableFolder(out, options.probe_at)
    campaign = Campaign(settings, folder, record, FIXED, "table", "a benchmark table (a larger --archs with resume=true extends it)")
    prepare(settings)  # after the folder's refusal or resume check: a wrong out_dir costs no data read
    candidates = uniform_candidates(settings, options.archs)
    runs = plan_table(settings, candidates, options.seeds)
    folder.planned = runs
    with campaign.open({c.arch.id: c.arch.with_name(c.name) for c in candidates}, len(runs)):
        campaign.run(runs)
    summary = write_outputs(out, settings, options)
    campaign.print_progress()
    return TableOutcome(out, summary)


def predicted_latency(out: Path, settings: SearchSettings, arch_ids: Sequence[str]) -> tuple[dict[str, float], str]:
    """Each architecture's full-size latency as `latency.*` configures it (default: batch 1 with the
    head, this machine's CPU), predicted from the latency table (calibrated here the first time,
    about a minute, then cached), and what it was predicted for."""
    from nas.evaluators.latency import LatencyEvaluator
    from nas.runner.trial import machine_name
    from search_space import load_architecture

    options = settings.latency_options
    evaluator = LatencyEvaluator(options, settings.top.preset, settings.space)
    evaluator.check(say=lambda m: print(m, file=sys.stderr))
    values: dict[str, float] = {}
    for a in arch_ids:
        try:
            values[a] = float(evaluator.evaluate(load_architecture(out / "archs" / f"{a}.yaml"))["latency_ms"])
        except InputError:  # a model the space's table has no components for (the R50-FPN seed): left empty
            values[a] = math.nan
    setting = options.setting(evaluator.preset)
    return values, f"{options.source} for {settings.top.preset} at {setting.image_size} px, batch {setting.batch}, {setting.threads} threads, head {setting.with_head}, on {machine_name()}"


def write_outputs(out: Path, settings: SearchSettings, options: TableOptions) -> dict[str, Any]:
    """table.csv and table.json from runs.csv (with every architecture's predicted latency)."""
    runs = read_runs(out / TableFolder.CSV)
    latency, latency_of = predicted_latency(out, settings, list(dict.fromkeys(runs["arch_id"])))
    table = arch_table(runs, latency)
    write_table(out, table)
    header = {"space": settings.space.name, "proxy": settings.proxy.label, "seeds": options.seeds, "probe_at": list(options.probe_at),
              "sampling": f"uniform over the space's decisions, seed {settings.top.seed}", "latency_ms": latency_of}  # fmt: skip
    summary = summarize_table(runs, table, header)
    atomic_write_text(out / "table.json", json.dumps(summary, indent=2, allow_nan=False) + "\n")
    return summary


def format_outcome(outcome: TableOutcome) -> str:
    return format_table_summary(outcome.summary, outcome.out_dir)
