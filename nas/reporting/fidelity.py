"""A fidelity run's folder (fidelity.csv) and what is made of it: fidelity.json, the printed report, fidelity.png."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from nas.core.ranking import bootstrap_interval, kendall_p_greater, kendall_tau, seed_agreement, seed_tau_interval, signal_to_noise, signal_to_noise_corrected, spearman_rho
from nas.core.stats import finite_or_none, number
from nas.core.status import TrialStatus
from nas.reporting.plots import save_figure
from nas.reporting.planned_folder import REFERENCE, SEED, PlannedFolder, RunKey, is_reference
from nas.reporting.run_folder import Row, ok_frame
from search_space.errors import ConfigError

SAME_RANKING_TAU = 0.9  # a changed proxy "ranks the same" as the one it replaces at this Kendall tau or above


class FidelityFolder(PlannedFolder):
    """fidelity.csv: a row per finished run, read back on resume."""

    CSV = "fidelity.csv"


def left_out(rows: Sequence[Row], candidates: Sequence[Any]) -> list[str]:
    """Architectures that learn nothing of this data, left out of every tau and signal-to-noise
    (they would hand out free concordant pairs, always last together): those whose reference run
    stayed on the plateau, or, with no reference run, those on the plateau in every seed. One rule
    for fidelity, the recipe benchmark and proxy-design (which has a reference)."""
    ok = [r for r in rows if r.status == TrialStatus.OK]
    refs = [r for r in ok if is_reference(r.values.get("run"))]
    names = {c.name for c in candidates}
    if refs:
        return sorted({r.values["arch"] for r in refs if r.values.get("plateau")} & names)
    stuck = []
    for name in sorted(names):
        mine = [r for r in ok if r.values["arch"] == name]
        if mine and all(r.values.get("plateau") for r in mine):
            stuck.append(name)
    return stuck


def summarize(rows: Sequence[Row], candidates: Sequence[Any], header: dict[str, Any], intervals: bool = False) -> dict[str, Any]:
    """The fidelity numbers of the finished runs (fidelity.json). `candidates` have `name`, `kind`,
    `arch` and `flops`; `header` names the proxy, space, metric, seeds, reference_epochs and the
    reference's label (`reference`, None without reference runs). Every tau and signal-to-noise is
    over the architectures `left_out` keeps; `intervals` adds 95% bootstrap intervals over
    architectures and the permutation p of ranking like the reference (a few seconds)."""
    seeds = [RunKey(SEED, k).cell for k in range(header["seeds"])]
    ids = [c.arch.id for c in candidates]
    wide = ok_frame(rows).pivot(index="arch_id", columns="run", values="reward").reindex(index=ids, columns=[*seeds, REFERENCE])
    table, reference = wide[seeds].to_numpy(dtype=float), wide[REFERENCE].to_numpy(dtype=float)
    means = wide[seeds].mean(axis=1).to_numpy()  # over the seeds that finished
    stds = wide[seeds].std(axis=1, ddof=1).to_numpy()  # NaN below two
    ranks = pd.Series(-means).rank(method="first").to_numpy()  # 1 = best mean; ties: the earlier candidate
    rank = {i: int(ranks[i]) for i in range(len(candidates)) if not math.isnan(means[i])}
    archs = [
        {
            "name": c.name,
            "kind": c.kind,
            "arch_id": c.arch.id,
            "flops": c.flops,
            "proxy": [finite_or_none(v) for v in table[i]],
            "proxy_mean": finite_or_none(means[i]),
            "proxy_std": finite_or_none(stds[i]),
            "proxy_rank": rank.get(i),
            "reference": finite_or_none(reference[i]),
        }
        for i, c in enumerate(candidates)
    ]
    stuck = set(left_out(rows, candidates))
    keep = np.array([c.name not in stuck for c in candidates], dtype=bool)
    table_k, means_k, reference_k = table[keep], means[keep], reference[keep]
    agreement = seed_agreement(table_k)
    with_reference = bool(header["reference_epochs"])
    summary: dict[str, Any] = {
        **{key: header[key] for key in ("proxy", "space", "metric")},
        "architectures": len(candidates),
        **{key: header[key] for key in ("seeds", "reference_epochs", "reference")},
        "runs": len(rows),
        "failed": sum(r.status != TrialStatus.OK for r in rows),
        "plateau_runs": sorted(f"{r.values['arch']} {r.values['run']}" for r in rows if r.status == TrialStatus.OK and r.values.get("plateau")),
        "seed_kendall_tau": finite_or_none(agreement["kendall_tau"]),
        "seed_spearman_rho": finite_or_none(agreement["spearman_rho"]),
        "seed_pairs": agreement["pairs"],
        "left_out": sorted(stuck),
        "signal_to_noise": finite_or_none(signal_to_noise_corrected(table_k)),  # the one the >= 3 advice reads, as proxy-design's
        "signal_to_noise_raw": finite_or_none(signal_to_noise(table_k)),  # std of means / mean seed std: ~0.6-0.9 on pure noise
        "reference_kendall_tau": finite_or_none(kendall_tau(means_k, reference_k)) if with_reference else None,
        "reference_spearman_rho": finite_or_none(spearman_rho(means_k, reference_k)) if with_reference else None,
        "archs": archs,
    }
    if intervals:
        lo, hi = seed_tau_interval(table_k)
        summary["seed_kendall_tau_interval"] = [finite_or_none(lo), finite_or_none(hi)]
        if with_reference:
            lo, hi = bootstrap_interval(kendall_tau, means_k, reference_k)
            summary["reference_kendall_tau_interval"] = [finite_or_none(lo), finite_or_none(hi)]
            summary["reference_kendall_p"] = finite_or_none(kendall_p_greater(means_k, reference_k))
    summary["checks"] = _anchor_checks(archs)
    return summary


def read_summary(folder: Path) -> dict[str, Any]:
    """The fidelity.json of an earlier `spinenas fidelity` run in `folder`; `ConfigError` naming the
    file when it is missing or not a fidelity summary."""
    path = Path(folder) / "fidelity.json"
    try:
        summary = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"--compare-to: {path} does not exist (point it at the out_dir of a finished `spinenas fidelity` run)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"--compare-to: {path} is not readable JSON ({exc})") from None
    archs = summary.get("archs") if isinstance(summary, dict) else None
    if not isinstance(archs, list) or not all(isinstance(a, dict) and "arch_id" in a and "proxy_mean" in a for a in archs):
        raise ConfigError(f"--compare-to: {path} is not a fidelity summary (no 'archs' list with arch_id and proxy_mean)")
    return summary


def compare_summaries(summary: dict[str, Any], earlier: dict[str, Any], label: str) -> dict[str, Any]:
    """How this run's architecture means rank against an earlier run's (another proxy, or the same
    proxy before a change) over the architectures both measured: Kendall tau and Spearman rho of the
    means, the mean shift (this run minus the earlier one) and each shared architecture's earlier
    mean. `label` names the earlier run (its folder)."""
    before = {a["arch_id"]: a["proxy_mean"] for a in earlier["archs"] if a["proxy_mean"] is not None}
    shared = [a for a in summary["archs"] if a["proxy_mean"] is not None and a["arch_id"] in before]
    now = np.array([a["proxy_mean"] for a in shared], dtype=float)
    then = np.array([before[a["arch_id"]] for a in shared], dtype=float)
    return {
        "run": label,
        "proxy": earlier.get("proxy"),
        "architectures": len(shared),
        "kendall_tau": finite_or_none(kendall_tau(now, then)),  # NaN (None) under 2 shared
        "kendall_tau_interval": [finite_or_none(v) for v in bootstrap_interval(kendall_tau, now, then)],
        "spearman_rho": finite_or_none(spearman_rho(now, then)),  # NaN (None) under 2 shared
        "mean_shift": finite_or_none(float(np.mean(now - then))) if shared else None,
        "earlier_means": {a["name"]: before[a["arch_id"]] for a in shared},
    }


def _anchor_checks(archs: list[dict[str, Any]]) -> dict[str, Any]:
    """What the anchors show: SpineNet-49 against the ResNet-50-FPN seed, where the coarsest ranks."""
    by_kind = {a["name"]: a for a in archs if a["kind"] != "sampled"}
    checks: dict[str, Any] = {}
    s49, r50 = by_kind.get("spinenet49"), by_kind.get("resnet50_fpn")
    if s49 and r50 and s49["proxy_mean"] is not None and r50["proxy_mean"] is not None:
        gap = s49["proxy_mean"] - r50["proxy_mean"]
        stds = [s for s in (s49["proxy_std"], r50["proxy_std"]) if s is not None]
        noise = float(np.mean(stds)) if stds else None
        checks["spinenet49_minus_resnet50_fpn"] = gap
        checks["gap_in_seed_std"] = gap / noise if noise else None
    coarsest = next((a for a in archs if a["kind"] == "coarsest"), None)
    ranked = [a for a in archs if a["proxy_rank"] is not None]
    if coarsest and coarsest["proxy_rank"] is not None:
        checks["coarsest_rank"] = coarsest["proxy_rank"]
        checks["ranked"] = len(ranked)
    return checks


def format_summary(summary: dict[str, Any], out_dir: Path) -> str:
    """The report `spinenas fidelity` prints."""
    lines = [
        f"fidelity of proxy {summary['proxy']} on {summary['space']}: {summary['architectures']} architectures x "
        f"{summary['seeds']} seeds, reference: {summary['reference'] or 'none'} ({summary['runs']} runs, {summary['failed']} failed)",
        "",
        f"{'arch':<22} {'kind':<9} {'FLOPs':>7}  {'proxy ' + summary['metric'] + ' (mean +- std)':<24} {'rank':>4}  reference",
    ]
    for a in sorted(summary["archs"], key=lambda a: a["proxy_rank"] or 10**6):
        mean = "-" if a["proxy_mean"] is None else f"{a['proxy_mean']:.4f}"
        std = "" if a["proxy_std"] is None else f" +- {a['proxy_std']:.4f}"
        ref = "-" if a["reference"] is None else f"{a['reference']:.4f}"
        lines.append(f"{a['name']:<22} {a['kind']:<9} {a['flops'] / 1e6:>6.0f}M  {mean + std:<24} {a['proxy_rank'] or '-':>4}  {ref}")

    num = number  # "n/a" for a number not measured

    def interval(key: str, d: dict[str, Any] = summary) -> str:
        lo, hi = d.get(key) or (None, None)
        return "" if lo is None else f" [95% over architectures {lo:.2f}, {hi:.2f}]"

    left = summary.get("left_out") or []
    lines += [
        "",
        *([f"left out of every tau and signal-to-noise: {', '.join(left)} (on the plateau in the reference run, or in every seed without one)"] if left else []),
        f"seed-to-seed Kendall tau {num(summary['seed_kendall_tau'])}{interval('seed_kendall_tau_interval')}, Spearman rho {num(summary['seed_spearman_rho'])} "
        f"(mean over {summary['seed_pairs']} seed pairs)",
        f"signal-to-noise {num(summary['signal_to_noise'])} (noise-corrected: the architectures' spread with the seed noise of their means taken out, "
        f"over the seed std; the raw ratio std of means / mean seed std reads {num(summary.get('signal_to_noise_raw'))})",
    ]
    if summary["reference_kendall_tau"] is not None:
        p = summary.get("reference_kendall_p")
        lines.append(
            f"proxy vs reference Kendall tau {num(summary['reference_kendall_tau'])}{interval('reference_kendall_tau_interval')}, Spearman rho "
            f"{num(summary['reference_spearman_rho'])}" + ("" if p is None else f"; permutation p of ranking like the reference at all {p:.3g}")
        )
    checks = summary["checks"]
    if "spinenet49_minus_resnet50_fpn" in checks:
        lines.append(
            f"SpineNet-49 minus ResNet-50-FPN: {checks['spinenet49_minus_resnet50_fpn']:+.4f} ({num(checks['gap_in_seed_std'])} seed std)"
        )
    if "coarsest_rank" in checks:
        lines.append(f"the coarsest architecture ranks {checks['coarsest_rank']} of {checks['ranked']}")
    compared = summary.get("compared_to")
    if compared:
        shift = "n/a" if compared["mean_shift"] is None else f"{compared['mean_shift']:+.4f}"
        lines.append(
            f"against {compared['run']} (proxy {compared['proxy']}, {compared['architectures']} shared architectures): "
            f"Kendall tau {num(compared['kendall_tau'])}{interval('kendall_tau_interval', compared)}, Spearman rho {num(compared['spearman_rho'])}, mean shift {shift}"
        )
    lines += [f"note: {n}" for n in _reading_notes(summary)]
    lines += ["", f"  {out_dir / 'fidelity.csv'}", f"  {out_dir / 'fidelity.json'}", f"  {out_dir / 'fidelity.png'}"]
    return "\n".join(lines)


def _reading_notes(summary: dict[str, Any]) -> list[str]:
    notes = []
    plateau = summary.get("plateau_runs") or []
    if plateau:
        notes.append(f"{len(plateau)} runs stayed on the background-only plateau ({', '.join(plateau[:4])}{' ...' if len(plateau) > 4 else ''}): their scores rank noise (fidelity.csv's plateau column says why)")
    snr, tau = summary["signal_to_noise"], summary["seed_kendall_tau"]
    if snr is not None and snr < 3:
        notes.append("signal-to-noise under 3: seeds move scores about as much as architectures do (docs/fidelity.md)")
    if tau is not None and tau < 0.6:
        notes.append("seed-to-seed tau under 0.6: two seeds often order architectures differently (docs/fidelity.md)")
    ref = summary["reference_kendall_tau"]
    if ref is not None and ref < 0.5:
        notes.append("the proxy's order departs from the reference training's: a longer proxy may be needed (docs/fidelity.md)")
    compared = summary.get("compared_to")
    if compared and compared["kendall_tau"] is not None and compared["kendall_tau"] < SAME_RANKING_TAU:
        notes.append(f"tau against {compared['run']} is under {SAME_RANKING_TAU}: the two proxies do not rank these architectures the same")
    return notes


def plot_fidelity(summary: dict[str, Any], path: Path) -> None:
    """Proxy score (seed mean, error bar = seed std) against the reference score, and against FLOPs."""
    import matplotlib.pyplot as plt

    archs = [a for a in summary["archs"] if a["proxy_mean"] is not None]
    panels = []
    if any(a["reference"] is not None for a in archs):
        panels.append(("reference", f"reference {summary['metric']} ({summary['reference']})"))
    if any(a["flops"] for a in archs):
        panels.append(("flops", "proxy FLOPs (multiply-adds)"))
    panels = panels or [("flops", "proxy FLOPs (multiply-adds)")]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.2), squeeze=False)
    colours = {"sampled": "#4c72b0", "catalog": "#dd8452", "coarsest": "#c44e52"}
    for ax, (key, label) in zip(axes[0], panels):
        for kind, colour in colours.items():
            points = [(a[key], a) for a in archs if a["kind"] == kind and a[key] is not None]
            if not points:
                continue
            xs, ys = [x for x, _ in points], [a["proxy_mean"] for _, a in points]
            errs = [a["proxy_std"] or 0.0 for _, a in points]
            ax.errorbar(xs, ys, yerr=errs, fmt="o", ms=4, capsize=2, color=colour, label=kind)
            for x, a in points:
                if kind != "sampled":
                    ax.annotate(a["name"], (x, a["proxy_mean"]), fontsize=7, xytext=(4, 3), textcoords="offset points")
        ax.legend(fontsize=8, frameon=False, loc="lower right")
        ax.set_xlabel(label)
        ax.set_ylabel(f"proxy {summary['metric']} (mean +- seed std)")

    num = number  # "n/a" for a number not measured
    title = f"{summary['proxy']}: seed tau {num(summary['seed_kendall_tau'])}, SNR {num(summary['signal_to_noise'])}"
    if summary["reference_kendall_tau"] is not None:
        title += f", proxy-vs-reference tau {num(summary['reference_kendall_tau'])}"
    fig.suptitle(title, fontsize=10)
    save_figure(fig, path)
