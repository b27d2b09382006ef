"""`spinenas table`: a benchmark table of a search space, trained on a proxy (resumable).

Architectures are drawn uniformly from the space (each controller decision uniform, as
`SearchSpace.sample` draws them, seeded by `seed`: the first `--archs` distinct draws, so a larger
`--archs` on resume adds rows and keeps the old ones), plus the anchors SpineNet-49, the R50-FPN
seed and the space's coarsest member. Each is trained with `--seeds` seeds on the configured proxy,
with AP also measured after the `--probe-at` fractions of training (the multi-fidelity points a
scheduler or predictor can use). The out_dir gets `runs.csv` (a row per training, appended as runs
finish), `table.csv` (a row per architecture), `table.json`, `config.yaml` and every spec in
`archs/<arch_id>.yaml`. A table stopped before its end (Ctrl-C) still gets table.csv and table.json
of the runs that finished, marked `"finished": false` with the planned count, and exits 130.
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
from search_space.errors import InputError, StoppedEarly
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
    try:
        with campaign.open({c.arch.id: c.arch.with_name(c.name) for c in candidates}, len(runs)):
            mark_unfinished(out, len(runs))  # an earlier table.json must not say "finished" while runs are added
            campaign.run(runs)
    except StoppedEarly as stopped:  # the runs that finished still make a table (a cut one, and it says so)
        print(f"table: writing table.csv and table.json of the runs that finished (of {len(runs)} planned)", file=sys.stderr, flush=True)
        try:
            write_outputs(out, settings, options, planned=len(runs), finished=False)
        except (Exception, KeyboardInterrupt) as e:  # noqa: BLE001 - a second Ctrl-C or a failure here must not hide the stop
            print(f"table: the cut table was not written ({type(e).__name__}: {e}); runs.csv holds every finished run", file=sys.stderr, flush=True)
        raise stopped from None
    summary = write_outputs(out, settings, options, planned=len(runs), finished=True)
    campaign.print_progress()
    return TableOutcome(out, summary)


def predicted_latency(out: Path, settings: SearchSettings, arch_ids: Sequence[str], calibrate: bool = True) -> tuple[dict[str, float], str]:
    """Each architecture's full-size latency as `latency.*` configures it (default: batch 1 with the
    head, this machine's CPU), predicted from the latency table (calibrated here the first time,
    about a minute, then cached), and what it was predicted for."""
    from nas.evaluators.latency import LatencyEvaluator
    from nas.runner.trial import machine_name
    from search_space import load_architecture

    options = settings.latency_options
    evaluator = LatencyEvaluator(options, settings.top.preset, settings.space)
    evaluator.check(say=lambda m: print(m, file=sys.stderr), may_calibrate=calibrate)
    if options.source == "predicted" and evaluator.table is None:  # not calibrated here yet, and not now: left empty
        return {a: math.nan for a in arch_ids}, "not predicted: no latency table calibrated on this machine yet (a finished table calibrates one)"
    values: dict[str, float] = {}
    for a in arch_ids:
        try:
            values[a] = float(evaluator.evaluate(load_architecture(out / "archs" / f"{a}.yaml"))["latency_ms"])
        except InputError:  # a model the space's table has no components for (the R50-FPN seed): left empty
            values[a] = math.nan
    setting = options.setting(evaluator.preset)
    return values, f"{options.source} for {settings.top.preset} at {setting.image_size} px, batch {setting.batch}, {setting.threads} threads, head {setting.with_head}, on {machine_name()}"


def mark_unfinished(out: Path, planned: int) -> None:
    """Mark an earlier table.json of this folder unfinished (with the new planned count) while its
    runs are trained; `write_outputs` writes the new one when they end."""
    path = out / "table.json"
    if not path.exists():
        return
    try:
        summary = json.loads(path.read_text())
    except ValueError:  # unreadable: the new one replaces it when the runs end
        path.unlink()
        return
    write_summary(out, {**summary, "finished": False, "planned_runs": planned})


def write_summary(out: Path, summary: dict[str, Any]) -> None:
    """table.json, written atomically (strict JSON: no NaN)."""
    atomic_write_text(out / "table.json", json.dumps(summary, indent=2, allow_nan=False) + "\n")


def write_outputs(out: Path, settings: SearchSettings, options: TableOptions, planned: int, finished: bool) -> dict[str, Any]:
    """table.csv and table.json from runs.csv (with every architecture's predicted latency);
    `finished` False marks a table stopped after some of its `planned` runs."""
    runs = read_runs(out / TableFolder.CSV)
    latency, latency_of = predicted_latency(out, settings, list(dict.fromkeys(runs["arch_id"])), calibrate=finished)  # a stop does not wait a minute
    table = arch_table(runs, latency)
    header = {"space": settings.space.name, "proxy": settings.proxy.label, "seeds": options.seeds, "probe_at": list(options.probe_at),
              "sampling": f"uniform over the space's decisions, seed {settings.top.seed}", "latency_ms": latency_of,
              "finished": finished, "planned_runs": planned}  # fmt: skip
    summary = summarize_table(runs, table, header)
    write_summary(out, summary)
    write_table(out, table)
    return summary


def format_outcome(outcome: TableOutcome) -> str:
    return format_table_summary(outcome.summary, outcome.out_dir)
