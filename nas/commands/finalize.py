"""`spinenas finalize RUN_DIR`: from a search to an answer.

A search's best reward is the maximum of many noisy scores, so it is biased upward. Finalize takes
the `top` best distinct architectures of a finished or stopped search (ok trials, by reward) and
the baselines (the ResNet-50-FPN seed, SpineNet-49), and retrains them on seeds the search never
used, with the run's own proxy or a changed one (`proxy.epochs=4`: the paper's "train fully"), as
Ray trials through the search's own trial code. Choosing and testing use different seeds, so the
winner's curse does not come back: the candidates are trained under `select_seeds` selection seeds
and the pick is the one with the highest mean there; then the pick and the baselines are trained
under `seeds` confirmation seeds, and only those runs go into the comparison (difference, gap in
seed std, one-sided Welch's t-test Holm-adjusted over the baselines, the verdict of
`nas.core.stats.VERDICT_RULE`, and how often that rule speaks when nothing differs). With `--top 1` there
is nothing to choose and no selection runs. `--scale` writes the pick at other presets' scaling, as
the paper scales SpineNet-49 to 96/143/190. Resumable like a search (`resume=true`); a run that
failed is trained again on resume.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from omegaconf import OmegaConf

from nas.settings.commands import FinalizeOptions
from nas.core.status import TrialStatus
from nas.reporting.planned_folder import SEED, SELECT, RunKey, with_keys
from nas.reporting.finalize import FinalizeFolder, format_finalize, plot_finalize, summarize_finalize
from nas.reporting.report import write_report
from nas.reporting.run_folder import Row, check_not_running, ok_frame
from nas.reporting.trials import SearchFolder
from nas.runner.campaign import Campaign
from nas.runner.planned import Candidate, PlannedRun
from nas.runner.prepare import prepare
from nas.settings.options import fixed_keys, recorded
from nas.settings.schemas import load_mapping
from nas.settings.search import SearchSettings, run_settings
from search_space.catalog import get_architecture, get_preset
from search_space.cost import measure
from search_space.errors import ConfigError
from search_space.fileio import atomic_write_text

FIXED = ("space", "proxy", "reward", "preset", *fixed_keys(FinalizeOptions, "finalize"), "finalize.run", "finalize.candidates")  # must not change between a finalize and its resume
NUM_CLASSES = 91  # the scaled specs are costed with a COCO head, as the paper's FLOPs are


@dataclass
class FinalizeOutcome:
    """What a finished finalize produced."""

    out_dir: Path
    result: dict[str, Any]


def run_finalize(run_dir: str | Path, overrides: Sequence[str], options: FinalizeOptions) -> FinalizeOutcome:
    """Choose among the search's best on selection seeds, test the pick against the baselines on
    confirmation seeds; write the answer."""
    run_dir = Path(run_dir)
    options.check()
    check_not_running(run_dir)
    default_out = run_dir / "finalize"
    if any(o.startswith("resume=") for o in overrides) and not any(o.startswith("out_dir=") for o in overrides):
        overrides = [*overrides, f"out_dir={default_out}"]  # resume the finalize where it writes by default
    settings = run_settings(run_dir, overrides)
    search_seed = int(OmegaConf.select(load_mapping(run_dir / "config.yaml"), "proxy.seed", default=0))  # the search's own, whatever the overrides set
    candidates, searched = top_candidates(settings, SearchFolder(run_dir).read_rows(), options.top, run_dir)
    taken = {c.arch.id for c in candidates}
    baselines = [Candidate(n, "baseline", a, 0) for n in options.baselines if (a := get_architecture(n)).id not in taken]
    select_n = options.select_seeds if len(candidates) > 1 else 0
    fresh = fresh_seeds(search_seed, select_n + options.seeds)
    select, seeds = fresh[:select_n], fresh[select_n:]
    out = Path(settings.top.out_dir) if settings.top.out_dir else default_out
    check_out_dir(out, run_dir)
    record = settings.record(finalize={**recorded(options), "run": str(run_dir), "select_seeds": select, "seeds": seeds, "candidates": sorted(taken)})
    folder = FinalizeFolder(out, settings.metrics)
    campaign = Campaign(settings, folder, record, FIXED, "finalize", "a finalize")
    prepare(settings)  # after the folder's refusal or resume check: a wrong out_dir costs no data read
    for line in options.warnings:
        print(f"spinenas finalize: warning: {line}", file=sys.stderr)
    epochs = float(settings.epochs or 1)
    selection = [PlannedRun(c, RunKey(SELECT, k).cell, s, {"seed": s}, epochs) for k, s in enumerate(select) for c in candidates]

    def confirmation(pick: Candidate) -> list[PlannedRun]:
        return [PlannedRun(c, RunKey(SEED, k).cell, s, {"seed": s}, epochs) for k, s in enumerate(seeds) for c in [pick, *baselines]]

    folder.planned = selection + confirmation(candidates[0])  # the pick's runs cost what any candidate's do
    with campaign.open({c.name: c.arch.with_name(c.name) for c in [*candidates, *baselines]}, len(folder.planned)):
        campaign.run(selection)
        pick = choose_pick(folder.rows, candidates, searched)
        if pick is not None:
            folder.planned = selection + confirmation(pick)
            campaign.run(folder.planned[len(selection):])
    header = {"run": str(run_dir), "proxy": settings.proxy.label, "metric": settings.reward.metric, "candidates": len(candidates),
              "baselines": [b.name for b in baselines], "select_seeds": select, "seeds": seeds, "search_seed": search_seed,
              "warnings": options.warnings}  # fmt: skip
    result = summarize_finalize(folder.rows, candidates, baselines, searched, header, pick.name if pick else None)
    write_outputs(result, out, [*candidates, *baselines], options.scale)
    if out == default_out and (run_dir / "trials.csv").exists():
        write_report(run_dir)  # the search's page gets its finalize section
    campaign.print_progress()
    return FinalizeOutcome(out, result)


def check_out_dir(out: Path, run_dir: Path) -> None:
    """Refuse an out_dir whose files finalize would overwrite: the search's own folder, or any search folder."""
    if out.resolve() == run_dir.resolve() or (out / "trials.csv").exists():
        raise ConfigError(f"out_dir={out} is a search's folder: finalize would overwrite its config.yaml; leave out_dir unset (it writes into {run_dir / 'finalize'}) or choose a new folder")


def top_candidates(settings: SearchSettings, rows: Sequence[Row], k: int, run_dir: Path) -> tuple[list[Candidate], dict[str, tuple[float, int]]]:
    """The `k` best distinct architectures among the ok trials (by reward; ties: the earlier trial),
    and each one's search reward and trial number."""
    ok = sorted((r for r in rows if r.status == TrialStatus.OK), key=lambda r: (-r.reward, r.number))
    if not ok:
        raise ConfigError(f"{run_dir}: no trial finished ok (trials.csv has {len(rows)} rows); nothing to finalize")
    picked: dict[str, Row] = {}
    for r in ok:
        picked.setdefault(r.values["arch_id"], r)
        if len(picked) == k:
            break
    candidates, searched = [], {}
    for arch_id, r in picked.items():
        arch = settings.space.decode(r.actions, name=f"trial{r.number}")
        if arch.id != arch_id:
            raise ConfigError(f"{run_dir}: trial {r.number}'s actions decode to {arch.id}, not {arch_id}: the run's space differs from its config.yaml")
        candidates.append(Candidate(f"trial{r.number}", "candidate", arch, 0))
        searched[arch.id] = (r.reward, r.number)
    return candidates, searched


def choose_pick(rows: Sequence[Row], candidates: Sequence[Candidate], searched: dict[str, tuple[float, int]]) -> Candidate | None:
    """The candidate with the highest mean over its selection runs (`TIE_RULE`); the only candidate
    when there is one; None when no selection run finished. Only the candidates with the most
    finished selection runs compete: a mean of fewer runs is noisier, so the maximum would favour
    a candidate for a failed run (its other seeds' luck counts double)."""
    if len(candidates) == 1:
        return candidates[0]
    ok = with_keys(ok_frame(rows))
    scores = ok[ok["role"] == SELECT].groupby("arch_id")["reward"].agg(["mean", "size"])
    most = scores["size"].max() if len(scores) else 0
    ranked = [c for c in candidates if c.arch.id in scores.index and scores.at[c.arch.id, "size"] == most]
    ranked.sort(key=lambda c: (-scores.at[c.arch.id, "mean"], -searched[c.arch.id][0], searched[c.arch.id][1]))
    return ranked[0] if ranked else None


def fresh_seeds(search_seed: int, n: int) -> list[int]:
    """`n` training seeds the search never used (every search trial trains with its proxy.seed)."""
    return [search_seed + 1 + k for k in range(n)]


def write_outputs(result: dict[str, Any], out: Path, archs: Sequence[Candidate], scale: Sequence[str]) -> None:
    """final.yaml (the pick), the scaled specs, finalize.json and finalize.png."""
    pick = next((c for c in archs if c.name == result["pick"]), None)
    if pick is not None:
        final = pick.arch.with_name(f"final-{pick.name}")
        final.save(out / "final.yaml")
        result["final"] = {"spec": str(out / "final.yaml"), "name": final.name, "arch_id": final.id}
        result["scaled"] = [scaled_spec(final, name, out) for name in scale]
    atomic_write_text(out / "finalize.json", json.dumps(result, indent=2, allow_nan=False) + "\n")
    plot_finalize(result, out / "finalize.png")


def scaled_spec(arch: Any, preset_name: str, out: Path) -> dict[str, Any]:
    """The pick's permutation at another preset's scaling: its spec file, and params and FLOPs at
    the preset's image size with a COCO RetinaNet head."""
    preset = get_preset(preset_name)
    spec = out / "scaled" / f"{preset_name}.yaml"
    arch.with_name(f"{arch.name}-{preset_name}").save(spec)
    cost = measure(arch, preset, preset.image_size, with_head=True, num_classes=NUM_CLASSES)
    return {
        "preset": preset_name, "spec": str(spec), "image_size": preset.image_size, "params": cost.params, "flops": cost.flops,
        "export": f"spinenas export {spec} --preset {preset_name} --format torchscript --with-head",
        "train": f"spinenas train arch={spec} preset={preset_name} proxy=full proxy.data.train_ann=... (and the other data paths)",
    }  # fmt: skip


__all__ = ["FinalizeOptions", "format_finalize", "fresh_seeds", "run_finalize", "top_candidates"]
