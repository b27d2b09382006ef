"""`spinenas proxy-design`: find the cheapest proxy that ranks architectures on the user's data.

1. Read the data (every check a search runs) and derive rules from its statistics
   (`proxy_tasks.design`): input sizes worth measuring, anchor size, batch.
2. Time a few training steps of a typical architecture at each size on this machine, so every
   candidate proxy's trial fits `--budget-s`; candidates differ in input size, steps (and with
   them the data share) and learning rate.
3. Train fidelity's architectures (samples spread over FLOPs, SpineNet-49, the R50-FPN seed and the
   space's coarsest member) under each candidate by successive halving: every candidate with one
   seed next to a longer, larger reference training; the better half (two at least) gets a second seed (seed
   agreement and signal-to-noise become measurable); the better half of those the remaining seeds.
   A candidate with a run that never leaves the background-only plateau is out, whatever its tau.
4. The cheapest candidate meeting every threshold is written as proxy.yaml (`spinenas search
   proxy=<out>/proxy.yaml`); without one, the numbers reached and what a larger budget buys.

Every run is a Ray trial through the search's trial code; runs.csv holds each finished one, so a
killed design resumes with `resume=true out_dir=...`, re-running only what is missing.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Callable, Sequence

from omegaconf import OmegaConf

from nas.settings.commands import REFERENCE_SEED_OFFSET, DesignOptions
from nas.core.status import TrialStatus
from nas.evaluators import evaluator_kind, trainer, with_overrides
from nas.reporting.design_verdict import MIN_SURVIVORS, THRESHOLDS, design_record, survivors
from nas.reporting.planned_folder import REFERENCE, SEED, RunKey, is_reference, run_key
from nas.reporting.proxy_design import MIN_ARCHS, REFERENCE_SEEDS, SELECTION_SEEDS, DesignFolder, candidate_summary, format_design, learned_by_reference, plot_design
from nas.reporting.run_folder import out_dir_of, parse_cell
from nas.runner.campaign import Campaign, Progress
from nas.runner.candidates import choose_candidates
from nas.runner.halving import Judgement, seed_rungs, successive_halving
from nas.runner.planned import PlannedRun
from nas.runner.prepare import prepare
from nas.runner.sizing import cluster_size, concurrent_trials, memory_per_trial_mb, typical_architecture, with_peak_memory
from nas.runner.trial import TrialSpec, run_trial
from nas.settings.schemas import load_mapping, normalized, plain
from nas.settings.options import fixed_keys, recorded
from nas.settings.search import SearchSettings, settings_from
from proxy_tasks.pixels import PIXEL_LAYOUT
from proxy_tasks.design import DesignRules, ProxyCandidate, StepTiming, candidates, narrowed, reference_overrides, rules_from_stats
from proxy_tasks.stats import dataset_stats
from search_space.errors import ConfigError
from search_space.fileio import atomic_write_text

__all__ = ["DesignOptions", "THRESHOLDS", "derive_candidates", "format_design", "run_proxy_design"]

FIXED = ("space", "proxy", "reward", "preset", *fixed_keys(DesignOptions, "design"))  # must not change between a run and its resume
TIMED_STEPS = 8


@dataclass
class DesignOutcome:
    out_dir: Path
    design: dict[str, Any]


def run_proxy_design(given: SearchSettings | Sequence[str], options: DesignOptions, log: Callable[[str], None] = print) -> DesignOutcome:
    """Measure candidate proxies on the configured data and write the cheapest that ranks."""
    options.check()
    settings = settings_from(given)
    if not evaluator_kind(settings.proxy).trains:
        raise ConfigError(f"proxy={settings.proxy.label} does not train a detector; proxy-design needs a training proxy (proxy=custom with proxy.data.*)")
    prior = _prior_reference(options.reference_from, settings) if options.reference_from else None
    out = out_dir_of(settings.top.out_dir, "proxy-design")
    record = settings.record(design=recorded(options))
    folder = DesignFolder(out, settings.metrics)
    campaign = Campaign(settings, folder, record, FIXED, "proxy-design", "a proxy design", say=log)
    prepare(settings)  # after the folder's refusal or resume check: a wrong out_dir costs no data read
    out.mkdir(parents=True, exist_ok=True)  # the step timings are kept there before Ray starts

    derived = derive_candidates(settings, options.budget_s, out, settings.top.resume, log, options.sizes, options.lrs)
    stats, rules, timings, cands, notes, n_train = derived.stats, derived.rules, derived.timings, derived.candidates, derived.notes, derived.num_train
    if not cands:
        raise ConfigError(f"no proxy fits --budget-s {options.budget_s:g} on this machine: {'; '.join(notes)}")
    ref_overrides, ref_steps, ref_s = _reference_plan(rules, timings, cands, options, n_train, prior)
    archs = choose_candidates(settings, options.archs)
    base_seed = int(settings.proxy.seed)
    ref_seed = base_seed + REFERENCE_SEED_OFFSET  # apart from every candidate's seeds: a shared initialisation and data order would make the two agree by construction
    reference_runs = [PlannedRun(a, RunKey(REFERENCE, k).cell, ref_seed + k, {**ref_overrides, "seed": ref_seed + k}, ref_s) for k in range(REFERENCE_SEEDS) for a in archs]
    metric = settings.reward.metric

    def planned(c: ProxyCandidate, k: int) -> list[PlannedRun]:
        return [PlannedRun(a, RunKey(SEED, k, c.name).cell, base_seed + k, {**c.overrides, "seed": base_seed + k}, c.est_trial_s) for a in archs]

    concurrent = concurrent_trials(settings, cluster_size(settings, None, None))
    worst = len(archs) * ((0.0 if prior is not None else ref_s) + sum(c.est_trial_s for c in cands) + sum(c.est_trial_s for c in cands[: max(MIN_SURVIVORS, math.ceil(len(cands) / 2))])
                          + (options.seeds - 2) * max(c.est_trial_s for c in cands))  # fmt: skip
    log(
        f"proxy design: {len(cands)} candidate proxies x {len(archs)} architectures, up to {options.seeds} seeds; reference "
        f"{ref_steps} steps at {ref_overrides['image_size']} px; at most about {worst / concurrent / 60:.0f} min at {concurrent} trials at once"
    )
    with campaign.open({a.name: a.arch.with_name(a.name) for a in archs}):  # each rung brings its own status line
        if prior is not None:
            _copy_reference_rows(folder, prior["rows"], archs)
        summaries, stopped = _halving(campaign, cands, reference_runs, planned, archs, options, metric)
    bigger = larger_budget(rules, timings, options.budget_s, cands, n_train, derived.memory_mb)
    design = design_record(settings, options, stats, rules, notes, cands, summaries, stopped, ref_overrides, ref_steps, ref_s, folder.rows, n_train, archs, bigger)
    design["timings"] = {str(k): asdict(v) for k, v in timings.items()}
    if design["chosen"] is None:
        design["conclusion"].append(f"a larger budget buys: with --budget-s {2 * options.budget_s:.0f}, {design['larger_budget']}")
    chosen = design["chosen"]
    if chosen is not None:
        _write_proxy(settings, next(c for c in cands if c.name == chosen), out / "proxy.yaml", design)
    elif design["best"] is not None:
        _write_proxy(settings, next(c for c in cands if c.name == design["best"]), out / "proxy-unverified.yaml", design)
    atomic_write_text(out / "design.json", json.dumps(design, indent=2, allow_nan=False, default=str) + "\n")
    plot_design(design, out / "design.png")
    return DesignOutcome(out, design)


def _reference_plan(rules: DesignRules, timings: dict[int, StepTiming], cands: list[ProxyCandidate], options: DesignOptions, n_images: int, prior: dict[str, Any] | None) -> tuple[dict[str, Any], int, float]:
    """The reference training's overrides, steps and estimated seconds: `reference_overrides` scaled
    to the longest candidate, with `--reference` pairs on top, or another design's (`prior`)."""
    if prior is not None:  # another design's reference on the same data: its settings and finished runs
        return prior["overrides"], prior["steps"], prior["est_trial_s"]
    longest = max(cands, key=lambda c: c.steps)
    ref_overrides, ref_steps, ref_s = reference_overrides(rules, timings, longest, options.reference_scale * options.budget_s, n_images)
    given = _parse_pairs(options.reference)
    ref_overrides.update(given)
    if given:  # the steps follow the reference's own epochs, batch and data share
        used = min(n_images, ref_overrides.get("data.max_train_images") or n_images)
        ref_steps = int(ref_overrides["epochs"]) * max(1, used // int(ref_overrides["batch_size"]))
    return ref_overrides, ref_steps, ref_s


def _halving(
    campaign: Campaign, cands: list[ProxyCandidate], reference_runs: list[PlannedRun], planned: Callable[[ProxyCandidate, int], list[PlannedRun]],
    archs: list[Any], options: DesignOptions, metric: str,
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:  # fmt: skip
    """Successive halving over the candidate proxies (`nas.runner.halving`): seed 0 with the
    reference runs, seed 1, then the rest of the seeds for the survivors; the summaries at the last
    rung judged and why each candidate stopped."""
    summaries: dict[str, dict[str, Any]] = {}

    def judge(rung: int, upto: int, alive: list[ProxyCandidate]) -> Judgement[ProxyCandidate]:
        seen = [row for row in campaign.folder.rows if (key := run_key(row.values["run"])).role == REFERENCE or key.seed_index <= upto]
        summaries.clear()
        summaries.update({c.name: candidate_summary(seen, c.name, archs, options.seeds, metric) for c in cands})
        learning = len(set(learned_by_reference(seen)))
        if learning < MIN_ARCHS:  # no tau can be read: spend nothing more on the candidates
            return Judgement(alive, halt=f"the reference learns {learning} of {len(archs)} architectures (< {MIN_ARCHS})")
        keep, cut = survivors(alive, summaries, options.budget_s)
        return Judgement(keep, {name: "" for name in cut})

    stopped = successive_halving(
        cands, lambda c: c.name, seed_rungs(SELECTION_SEEDS, options.seeds), planned, lambda runs, label: _run_rung(campaign, runs, label),
        judge, first=reference_runs, noun="proxies",
    )  # fmt: skip
    return summaries, stopped


@dataclass
class Derived:
    """What the data and this machine give a design before anything is trained: the dataset's
    statistics, the rules drawn from them, the step timings, the candidates that fit the budget
    (cheapest first) with notes on what did not fit, the number of training images, and each
    trial's share of this machine's memory (None: not checked)."""

    stats: dict[str, Any]
    rules: DesignRules
    timings: dict[int, StepTiming]
    candidates: list[ProxyCandidate]
    notes: list[str]
    num_train: int
    memory_mb: float | None


def derive_candidates(
    settings: SearchSettings, budget_s: float, out: Path, resume: bool, log: Callable[[str], None], sizes: Sequence[int] = (), lrs: Sequence[float] = ()
) -> Derived:
    """Steps 1 and 2 of a design: read the (prepared) data, derive the rules (input sizes and
    learning rates narrowed to `sizes`, `lrs` where given), time the input sizes here (kept in
    out/timing.json, reused when `resume`) and list the candidates within `budget_s`."""
    train_ds, val_ds = trainer(settings.evaluator).datasets()
    stats = dataset_stats(train_ds, val_ds, settings.proxy.data.describe())
    rules = narrowed(rules_from_stats(stats), sizes, lrs)
    timings = _timings(settings, rules, out / "timing.json", resume, log)
    memory_mb = memory_per_trial_mb(settings)
    cands, notes = candidates(rules, timings, budget_s, len(train_ds.images), memory_mb)
    return Derived(stats, rules, timings, cands, notes, len(train_ds.images), memory_mb)


def _timings(settings: SearchSettings, rules: DesignRules, path: Path, resume: bool, log: Callable[[str], None]) -> dict[int, StepTiming]:
    """Seconds per step and fixed seconds per trial at each size, timed here on a typical
    architecture with the trial's threads (kept in timing.json: a resumed design reuses them, so
    its candidates are the same)."""
    if resume and path.exists():
        saved = json.loads(path.read_text())
        if sorted(saved) == sorted(str(s) for s in rules.sizes):
            return {int(k): StepTiming(**v) for k, v in saved.items()}
    arch, _ = typical_architecture(settings, settings.evaluator, 16)
    out = {}
    for size in rules.sizes:
        overrides = {"image_size": size, "batch_size": rules.batch_size, "model.norm": "group", "model.anchor_size": rules.anchor_size,
                     "optim.optimizer": "adamw", "optim.lr": 0.003, "epochs": 1}  # fmt: skip
        log(f"timing {TIMED_STEPS} steps at {size} px on {arch.name} ({arch.id}) ...")
        config = {"arch": arch.to_dict(), "arch_id": arch.id, "proxy_overrides": overrides}
        result, peak = with_peak_memory(
            lambda: run_trial(config, replace(TrialSpec.of(settings), joined=()), max_steps=TIMED_STEPS)
        )
        if result["status"] != TrialStatus.OK:
            raise ConfigError(f"the timed trial at {size} px failed: {result['error']}")
        step_s = float(result["step_s"])
        fixed = float(result["build_s"]) + max(0.0, float(result["first_step_s"]) - step_s) + float(result["eval_s"])
        out[size] = StepTiming(size, step_s, fixed, peak)
        log(f"  {step_s * 1000:.0f} ms/step, {fixed:.1f} s fixed (build, first step, evaluation)" + (f", peak {peak / 1024:.1f} GB resident" if peak else ""))
    atomic_write_text(path, json.dumps({str(k): asdict(v) for k, v in out.items()}, indent=2) + "\n")
    return out


def _prior_reference(folder: str, settings: SearchSettings) -> dict[str, Any]:
    """The reference of an earlier design (`--reference-from`): its overrides, steps, estimate and
    finished reference rows; refused when it was made on other data or without a design.json. Its
    proxy.seed may differ from this design's: a reference made with seeds the candidates use too (one
    from before 2026-12-07) is reused with candidates on other seeds (proxy.seed=10) without sharing."""
    path = Path(folder)
    if not (path / "design.json").is_file() or not (path / "config.yaml").is_file():
        raise ConfigError(f"--reference-from {folder}: not a finished proxy-design folder (no design.json or config.yaml)")
    saved = load_mapping(path / "config.yaml")
    if saved.get("pixels", "pad-black") != PIXEL_LAYOUT:
        raise ConfigError(f"--reference-from {folder}: its reference was trained on images padded black (before 2026-12-07); this version pads with the mean colour")
    before = normalized("proxy", saved.proxy)  # paths made absolute, keys added since filled in
    if not isinstance(before, dict) or before.get("data") != asdict(settings.proxy.data):
        raise ConfigError(f"--reference-from {folder}: its reference was trained on other data (proxy.data differs)")
    reference = json.loads((path / "design.json").read_text())["reference"]
    rows = [r for r in DesignFolder(path).read_rows() if is_reference(r.values["run"]) and r.status == TrialStatus.OK]
    return {**reference, "rows": rows}


def _copy_reference_rows(folder: DesignFolder, rows: Sequence[Any], archs: Sequence[Any]) -> None:
    """Record the earlier design's reference runs of this design's architectures as this one's."""
    done = folder.done()
    by_id = {a.arch.id: a for a in archs}
    for row in rows:
        a = by_id.get(row.values["arch_id"])
        run = row.values["run"]
        if a is not None and (a.arch.id, run) not in done:
            folder.append_row(row.trial_id, dict(row.values), arch=a.name, arch_id=a.arch.id, kind=a.kind, run=run, seed=row.values["seed"], epochs=row.values["epochs"])


def _run_rung(campaign: Campaign, runs: list[PlannedRun], label: str) -> None:
    """Run one rung's planned runs that the folder does not hold yet, with its own status line."""
    folder = campaign.folder
    folder.planned = runs
    done = folder.done()
    pending = sum(r.key not in done for r in runs)
    progress = Progress(folder, len(folder.rows) + pending, campaign.settings.top.progress_every_s, label=f"proxy-design {label}")
    if campaign.run(runs, progress):
        progress.print_line()


def larger_budget(rules: DesignRules, timings: dict[int, StepTiming], budget_s: float, cands: list[ProxyCandidate], num_train: int, memory_mb: float | None = None) -> str:
    """What twice the budget adds, size by size: the most steps a candidate could train (a size
    that does not fit the memory does not fit it at any budget)."""
    now: dict[int, int] = {}
    for c in cands:
        now[c.overrides["image_size"]] = max(now.get(c.overrides["image_size"], 0), c.steps)
    more, _ = candidates(rules, timings, 2 * budget_s, num_train, memory_mb)
    then: dict[int, int] = {}
    for c in more:
        then[c.overrides["image_size"]] = max(then.get(c.overrides["image_size"], 0), c.steps)
    parts = [f"{size} px trains up to {steps} steps " + (f"(now {now[size]})" if size in now else "(does not fit now)") for size, steps in sorted(then.items())]
    return "; ".join(parts) or "still no size fits"


def _write_proxy(settings: SearchSettings, cand: ProxyCandidate, path: Path, design: dict[str, Any]) -> None:
    """The proxy as a conf/proxy-style YAML with every key, data paths made absolute."""
    options = with_overrides(settings.proxy, cand.overrides)
    node = plain(OmegaConf.structured(options))
    data = node["data"]
    for key in ("root", "train_ann", "train_images", "val_ann", "val_images", "cache_dir", "train_split", "val_split"):
        value = data.get(key)
        if value and (key not in ("train_split", "val_split") or Path(value).suffix) and os.path.exists(value):
            data[key] = str(Path(value).resolve())
    node["label"] = f"design-{cand.name}"
    verified = "meets" if design["chosen"] == cand.name else "does NOT meet"
    header = (
        f"# Written by spinenas proxy-design on {design['data']}: {cand.describe()}.\n"
        f"# It {verified} the thresholds (seed tau >= 0.6, SNR >= 3, reference tau >= 0.65; design.json has the numbers).\n"
        f"# Use it: spinenas search proxy={path}\n"
    )
    body = OmegaConf.to_yaml(OmegaConf.create({"defaults": ["base_training", "_self_"], **node}))
    atomic_write_text(path, header + body)


def _parse_pairs(pairs: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in pairs:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--reference: expected key=value (e.g. image_size=256), got {item!r}")
        text = value.strip()
        out[key.strip()] = {"true": True, "false": False, "null": None}.get(text.lower(), parse_cell(text))
    return out
