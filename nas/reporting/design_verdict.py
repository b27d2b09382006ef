"""proxy-design's verdicts: what rules a candidate proxy out, which thresholds it meets, which half
goes on at a rung, and design.json with its conclusion lines (the verdicts beside fidelity's, in
reporting/; the command, `nas.commands.proxy_design`, runs the rungs and calls these)."""

from __future__ import annotations

import math
import statistics
from typing import TYPE_CHECKING, Any, Sequence

from nas.core.stats import number
from nas.reporting.planned_folder import is_reference
from nas.reporting.proxy_design import MIN_ARCHS, REFERENCE_SEEDS, SELECTION_SEEDS, reference_best_ap50, reference_plateau, reference_seed_tau, verdict_numbers
from nas.settings.commands import REFERENCE_SEED_OFFSET, DesignOptions
from proxy_tasks.design import DesignRules, ProxyCandidate, score

if TYPE_CHECKING:
    from nas.settings.search import SearchSettings

THRESHOLDS = {"seed_tau": 0.6, "snr": 3.0, "reference_tau": 0.65}
MIN_SURVIVORS = 2  # the first halving rung keeps at least this many candidates (`survivors`)
TIME_NOISE = 0.1  # a proxy measured more than this share over the budget is not chosen for it (trial times vary ~5-10% run to run)


def passes(s: dict[str, Any], budget_s: float) -> bool:
    """Nothing rules the candidate out and it meets every threshold measured so far."""
    return not ruled_out(s, budget_s) and met(s) >= 1.0


def ruled_out(s: dict[str, Any], budget_s: float) -> str:
    """Why a candidate proxy cannot be chosen whatever its numbers ('' when nothing rules it out):
    plateau runs, failed runs, or a measured trial time over the budget by more than the noise."""
    if s.get("plateau_runs"):
        return f"plateau: {', '.join(s['plateau_runs'][:3])}" + (" ..." if len(s["plateau_runs"]) > 3 else "")
    if s.get("failed_runs"):
        return f"failed runs: {', '.join(s['failed_runs'][:3])}" + (" ..." if len(s["failed_runs"]) > 3 else "")
    measured = s.get("median_trial_s")
    if measured is not None and measured > (1 + TIME_NOISE) * budget_s:
        return f"over budget: {measured:.0f} s per trial measured > {budget_s:.0f} s (+{TIME_NOISE:.0%})"
    return ""


def met(s: dict[str, Any]) -> float:
    """Thresholds met so far: with one seed only the reference tau is known."""
    if s["seeds_done"] < 2:
        ref = s["reference_kendall_tau"]
        return 0.0 if ref is None else ref / THRESHOLDS["reference_tau"]
    return score(s["seed_kendall_tau"], s["signal_to_noise"], s["reference_kendall_tau"], THRESHOLDS)


def survivors(alive: list[ProxyCandidate], summaries: dict[str, dict[str, Any]], budget_s: float) -> tuple[list[ProxyCandidate], list[str]]:
    """The better half goes on (two at least after the first seed): candidates meeting every threshold so far first,
    cheapest first (the aim is the cheapest that ranks), then the rest by how close they come;
    plateau runs, failed runs and a measured time over the budget are out. Two at least, because
    after one seed only the reference tau is known, and the threshold real data fails most (the
    signal-to-noise: BCCD's closest 120 s proxy met the rest) needs a second seed to be read."""
    clean = [c for c in alive if not ruled_out(summaries[c.name], budget_s)]

    def ok(c: ProxyCandidate) -> bool:
        return passes(summaries[c.name], budget_s)

    ordered = sorted(clean, key=lambda c: (not ok(c), c.est_trial_s if ok(c) else -met(summaries[c.name])))
    one_seed = all(summaries[c.name]["seeds_done"] < 2 for c in alive)
    keep = ordered[: max(MIN_SURVIVORS if one_seed else 1, math.ceil(len(alive) / 2))]
    return keep, [c.name for c in alive if c not in keep]


def design_record(
    settings: SearchSettings, options: DesignOptions, stats: dict[str, Any], rules: DesignRules, notes: list[str], cands: list[ProxyCandidate],
    summaries: dict[str, dict[str, Any]], stopped: dict[str, str], ref_overrides: dict[str, Any], ref_steps: int, ref_s: float,
    rows: Sequence[Any], num_train: int, archs: Sequence[Any], bigger: str = "",
) -> dict[str, Any]:  # fmt: skip
    """design.json: the data, rules, candidates with their numbers and verdicts, and the choice."""
    out_cands = []
    for c in cands:
        s = summaries.get(c.name, {"seeds_done": 0, "plateau_runs": [], "failed_runs": [], "reference_kendall_tau": None, "architectures_ranked": 0})
        if out := ruled_out(s, options.budget_s):
            verdict = out
        elif s["seeds_done"] >= options.seeds and s["architectures_ranked"] < MIN_ARCHS:
            verdict = f"too few architectures with results ({s['architectures_ranked']} < {MIN_ARCHS}): no verdict"
        elif s["seeds_done"] >= options.seeds and passes(s, options.budget_s):
            verdict = "ranks"
        elif c.name in stopped:
            verdict = stopped[c.name]
        else:
            verdict = "short of " + ", ".join(short_of(s)) if short_of(s) else "measured"
        record = {"name": c.name, "describe": c.describe(), "overrides": c.overrides, "steps": c.steps, "est_trial_s": c.est_trial_s, **{k: v for k, v in s.items() if k not in ("archs",)}, "archs": s.get("archs"), "verdict": verdict}
        if s["seeds_done"] >= options.seeds and s.get("archs"):  # the verdict's numbers, with their intervals
            record.update(verdict_numbers(record, THRESHOLDS))
        out_cands.append(record)
    full = [c for c in out_cands if c["seeds_done"] >= options.seeds and not ruled_out(c, options.budget_s) and c["architectures_ranked"] >= MIN_ARCHS]
    ranking = [c for c in full if c["verdict"] == "ranks"]
    base_seed = int(settings.proxy.seed) if settings is not None else 0
    ref_seeds = sorted({int(r.values["seed"]) for r in rows if is_reference(r.values["run"]) and r.values.get("seed") not in (None, "")})
    shared = sorted(set(ref_seeds) & {base_seed + k for k in range(options.seeds)})
    chosen = min(ranking, key=lambda c: c["est_trial_s"])["name"] if ranking else None
    best = max(full, key=lambda c: met(c))["name"] if full else None
    design = {
        "data": stats["source"],
        "train_images": num_train,
        "budget_s": options.budget_s,
        "archs": options.archs,
        "seeds": options.seeds,
        "thresholds": THRESHOLDS,
        "rules": rules.reasons,
        "notes": notes,
        "stats": stats,
        "reference": {"overrides": ref_overrides, "steps": ref_steps, "est_trial_s": ref_s, "plateau": reference_plateau(rows), "seeds": REFERENCE_SEEDS,
                      "seed_kendall_tau": reference_seed_tau(rows, archs), "architectures": len(archs),
                      "best_ap50": reference_best_ap50(rows), "seeds_used": ref_seeds, "shares_seeds_with_candidates": shared,
                      "describe": f"{ref_overrides['image_size']} px, {ref_steps} steps ({ref_overrides['epochs']} ep), lr {ref_overrides['optim.lr']:g}"},  # fmt: skip
        "candidates": out_cands,
        "chosen": chosen,
        "best": best,
        "larger_budget": bigger,
    }
    design["conclusion"] = conclusion(design, settings, options)
    return design


def short_of(s: dict[str, Any]) -> list[str]:
    parts = []
    for key, label, threshold in (("seed_kendall_tau", "seed tau", "seed_tau"), ("signal_to_noise", "SNR", "snr"), ("reference_kendall_tau", "ref tau", "reference_tau")):
        v = s.get(key)
        if v is not None and v < THRESHOLDS[threshold]:
            parts.append(f"{label} {v:.2f} < {THRESHOLDS[threshold]}")
    return parts


def conclusion(design: dict[str, Any], settings: SearchSettings, options: DesignOptions) -> list[str]:
    by_name = {c["name"]: c for c in design["candidates"]}
    if design["reference"]["plateau"]:
        lines = [
            f"note: the reference training left {', '.join(design['reference']['plateau'])} on the plateau too: they do not learn this "
            f"data in {design['reference']['steps']} steps: they are left out of every tau and signal-to-noise, and their plateau runs under a "
            "proxy are not held against it (raise --reference-scale to tell)"
        ]
    else:
        lines = []
    ref = design["reference"]
    if ref.get("shares_seeds_with_candidates"):
        lines.append(
            f"note: the reference was trained with seeds {', '.join(map(str, ref['shares_seeds_with_candidates']))}, which candidates use too "
            "(a reference made before 2026-12-07, or reused from one with --reference-from): a candidate run and the reference run of the same "
            "seed share initialisation and data order, so their tau reads higher than fresh seeds would give; a design with its own reference "
            f"(seeds proxy.seed + {REFERENCE_SEED_OFFSET} on) does not, nor does one whose candidates take other seeds (proxy.seed={max(ref['seeds_used']) + 1} or above)"
        )
    if ref["plateau"] and ref.get("architectures", 0) - len(ref["plateau"]) < MIN_ARCHS:
        best = "n/a" if ref.get("best_ap50") is None else f"{ref['best_ap50']:.3f}"
        lines.append(
            f"nothing learns within this budget: even the reference training ({ref['describe']}, the longest and largest run) left "
            f"{len(ref['plateau'])} of {ref['architectures']} architectures on the plateau or no better than an image-independent detector "
            f"(best AP50 {best}; fewer than {MIN_ARCHS} left to rank), so no proxy here can rank anything and the design stopped after its first rung; "
            f"give it more steps (--reference-scale, --budget-s; {options.budget_s * 2:.0f} s buys: {design.get('larger_budget') or 'see below'}) "
            "or a recipe that learns this data faster (docs/data_formats.md)"
        )
    if design["chosen"]:
        c = by_name[design["chosen"]]
        return lines + [
            f"chosen: {c['name']} ({c['describe']}), {c['median_trial_s'] or c['est_trial_s']:.0f} s per trial measured: "
            f"seed tau {number(c['seed_kendall_tau'])}, SNR {number(c['signal_to_noise'])}, reference tau {number(c['reference_kendall_tau'])}",
            *evidence_lines(c, len(design["candidates"])),
            "use it: spinenas search proxy=<out_dir>/proxy.yaml (and spinenas finalize takes the run as it is)",
        ]
    lines.append(f"no candidate within {options.budget_s:.0f} s per trial meets every threshold")
    if design["best"]:
        c = by_name[design["best"]]
        lines.append(f"closest: {c['name']} ({c['describe']}): {', '.join(short_of(c)) or 'plateau-free but unmeasured'}; written as proxy-unverified.yaml")
        lines += evidence_lines(c, len(design["candidates"]))
        lines += spread_lines(c, design["stats"]["val"]["boxes"], ref.get("seed_kendall_tau"))
    plateaued = [c["name"] for c in design["candidates"] if c["plateau_runs"]]
    if plateaued:
        lines.append(
            f"plateau runs (background only, or no better than an image-independent detector) under {', '.join(plateaued)}: "
            "those proxies are too short or too slow to learn for this data"
        )
    return lines


def evidence_lines(c: dict[str, Any], candidates: int) -> list[str]:
    """How firm a verdict is: its taus' 95% bootstrap intervals over architectures, the permutation p
    of ranking like the reference at all, the reference tau on the seeds that chose nothing (the
    halving picked survivors among `candidates` on seeds 0-1, so the verdict's own numbers are
    optimistic), and the word "thin" when an interval reaches below its threshold."""
    if "reference_kendall_tau_interval" not in c:
        return []

    def interval(key: str) -> str:
        lo, hi = c[key]
        return "[n/a]" if lo is None else f"[{lo:.2f}, {hi:.2f}]"

    p = "n/a" if c.get("reference_kendall_p") is None else f"{c['reference_kendall_p']:.3g}"
    lines = [
        f"  over {c['architectures_in_tau']} architectures: seed tau 95% interval {interval('seed_kendall_tau_interval')}, reference tau "
        f"{interval('reference_kendall_tau_interval')} (bootstrap over architectures); permutation p of ranking like the reference at all {p}"
    ]
    if c.get("held_out_seeds"):
        held = c.get("held_out_reference_kendall_tau")
        lines.append(
            f"  chosen among {candidates} candidates on seeds 0-{SELECTION_SEEDS - 1}, which also enter its numbers (optimistic); on the "
            f"{c['held_out_seeds']} later seed(s), which chose nothing, its reference tau is {'n/a' if held is None else f'{held:.2f}'}"
        )
    if c.get("thin"):
        lines.append(f"  thin: {'; '.join(c['thin'])}: more architectures (--archs) would firm it up")
    return lines


def spread_lines(c: dict[str, Any], val_boxes: int, reference_seed_tau: float | None = None) -> list[str]:
    """Why a proxy does not rank: how far apart its architectures' means lie against the seed
    noise, next to the reference's spread (read as a ranking only where the reference ranks its own
    seeds alike), and how many boxes the validation score rests on."""
    archs = [a for a in c.get("archs") or [] if a["proxy_mean"] is not None]
    means = [a["proxy_mean"] for a in archs]
    stds = [a["proxy_std"] for a in archs if a["proxy_std"] is not None]
    refs = [a["reference"] for a in archs if a["reference"] is not None]
    if len(means) < 2 or not stds:
        return []
    spread = statistics.stdev(means)
    noise = statistics.fmean(stds)
    line = f"why: its architectures' mean scores spread {spread:.3f} (std) against a seed std of {noise:.3f}"
    if len(refs) >= 2 and reference_seed_tau is not None and reference_seed_tau >= THRESHOLDS["seed_tau"]:
        line += f"; the reference training spreads them {statistics.stdev(refs):.3f} and ranks them alike in its two seeds (tau {reference_seed_tau:.2f}), so longer training separates them"
    elif len(refs) >= 2:
        tau = "n/a" if reference_seed_tau is None else f"{reference_seed_tau:.2f}"
        line += (f"; the reference spreads them {statistics.stdev(refs):.3f} but does not rank them alike in its own two seeds (tau {tau} < "
                 f"{THRESHOLDS['seed_tau']}), so this design cannot tell whether longer training separates them")
    lines = [line]
    if val_boxes < 300:
        lines.append(f"the validation split holds {val_boxes} boxes: AP on so few moves a lot between seeds; more validation images lower the noise")
    return lines
