"""A proxy-design run's folder (runs.csv) and what is made of it: each candidate proxy's fidelity
numbers, plateau runs, design.json, design.png and the printed report."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from nas.core.ranking import bootstrap_interval, kendall_p_greater, kendall_tau, seed_tau_interval, signal_to_noise_corrected
from nas.core.stats import finite_or_none, number
from nas.core.status import TrialStatus
from nas.reporting.fidelity import summarize
from nas.reporting.planned_folder import COLUMNS, REFERENCE, SEED, PlannedFolder, RunKey, run_key, with_keys
from nas.reporting.plots import save_figure
from nas.reporting.run_folder import Row

if TYPE_CHECKING:
    import pandas as pd

PLATEAU_AP50 = 0.01  # AP50 under this: the detector still predicts background only (the focal-loss plateau)
WEAK_AP50 = 0.05  # AP50 under this with a loss that fell by less than LOSS_DROP: still on the plateau
LOSS_DROP = 0.1


class DesignFolder(PlannedFolder):
    """runs.csv: a row per finished run (candidate proxy x architecture x seed, and the reference
    runs), read back on resume; the loss at the end is kept to tell plateau runs apart."""

    CSV = "runs.csv"
    COLUMNS = (*COLUMNS, "initial_loss", "final_loss", "final_cls_loss", "constant_cls_loss", "chance_AP50", "steps")

    def headline(self) -> str:
        """The status line's summary: proxy runs done, how many stayed on the plateau, references."""
        f = design_frame(self.rows)
        proxy = f[f["role"] != REFERENCE]
        return f"{len(proxy)} proxy runs ({int(proxy['plateau'].sum())} on the plateau), {len(f) - len(proxy)} reference runs"


def is_plateau(row: Row) -> bool:
    """A finished run whose detector never left the background-only plateau: the trial's own
    verdict (`plateau`, from `proxy_tasks.plateau`: AP50 near 0, or a classification loss not below
    the constant predictor's); for rows written before it, AP50 near 0, or a weak AP50 with a loss
    curve that ends about where it began."""
    if row.status != TrialStatus.OK:
        return False
    if _number(row.values.get("constant_cls_loss")) or row.values.get("plateau"):  # the trial's own verdict
        return bool(row.values.get("plateau"))
    if not _number(row.values.get("AP50")):
        return False
    ap50 = float(row.values["AP50"])
    if ap50 < PLATEAU_AP50:
        return True
    start, end = row.values.get("initial_loss"), row.values.get("final_loss")
    return ap50 < WEAK_AP50 and _number(start) and _number(end) and float(str(end)) > (1 - LOSS_DROP) * float(str(start))


MIN_ARCHS = 5  # architectures with every seed (and off the reference's plateau) before a proxy gets any verdict
REFERENCE_SEEDS = 2  # the reference is trained with this many seeds: its own noise is measured, not assumed away
SELECTION_SEEDS = 2  # successive halving chooses its survivors on seed indices 0 and 1; later seeds chose nothing


def candidate_summary(rows: Sequence[Row], proxy: str, archs: Sequence[Any], seeds: int, metric: str) -> dict[str, Any]:
    """Fidelity numbers of one candidate proxy over the architectures the reference training does
    not leave on the plateau (those do not learn this data at all: they would hand out free
    concordant pairs, and their plateau runs are the architecture's, not the proxy's); with its
    plateau and failed runs, its measured trial time, and the noise-corrected signal-to-noise
    (`nas.core.ranking.signal_to_noise_corrected`). The reference score is the mean of its seeds."""
    keys = [run_key(r.values["run"]) for r in rows]
    mine = [dataclasses.replace(r, values={**r.values, "run": RunKey(SEED, k.seed_index).cell}) for r, k in zip(rows, keys) if k.proxy == proxy]  # as fidelity names its seeds
    reference = [r for r, k in zip(rows, keys) if k.role == REFERENCE]
    ref_frame = design_frame(reference)
    stuck = set(_plateau_archs(ref_frame))
    kept = [a for a in archs if a.name not in stuck]
    done_seeds = max((k.seed_index + 1 for k in keys if k.proxy == proxy), default=0)
    header: dict[str, Any] = {"proxy": proxy, "space": "", "metric": metric, "seeds": max(1, min(seeds, done_seeds)), "reference_epochs": 1, "reference": REFERENCE}
    s = summarize([*mine, *reference], kept, header)
    refs = _finished_references(ref_frame)
    ref_means = refs.groupby("arch_id")["reward"].mean().reindex([a.arch.id for a in kept]).to_numpy(dtype=float)
    means = np.array([np.nan if a["proxy_mean"] is None else a["proxy_mean"] for a in s["archs"]], dtype=float)
    table = np.array([[np.nan if v is None else v for v in a["proxy"]] for a in s["archs"]], dtype=float).reshape(len(s["archs"]), header["seeds"])
    complete = int((~np.isnan(table).any(axis=1)).sum()) if table.size else 0
    f = design_frame(mine)
    ok = f["status"] == TrialStatus.OK
    walls = sorted(w for w in f.loc[ok, "wall_s"] if math.isfinite(w))
    named = f["arch"] + " " + f["run"]
    plateau = sorted(set(named[f["plateau"] & ~f["arch"].isin(stuck)]))
    failed = sorted(named[~ok])
    for a, ref in zip(s["archs"], ref_means):  # summarize keeps the order of `kept`
        a["reference"] = finite_or_none(ref)
    return {
        "proxy": proxy,
        "seeds_done": done_seeds,
        "runs": len(mine),
        "failed": len(failed),
        "failed_runs": failed,
        "architectures_ranked": complete,
        "left_out": sorted(stuck),
        "seed_kendall_tau": s["seed_kendall_tau"] if done_seeds >= 2 else None,
        "signal_to_noise": finite_or_none(signal_to_noise_corrected(table)) if done_seeds >= 2 else None,
        "signal_to_noise_raw": s["signal_to_noise_raw"] if done_seeds >= 2 else None,
        "reference_kendall_tau": finite_or_none(kendall_tau(means, ref_means)),
        "plateau_runs": plateau,
        "median_trial_s": finite_or_none(walls[len(walls) // 2]) if walls else None,
        "archs": s["archs"],
        "checks": s["checks"],
    }


def verdict_numbers(c: Mapping[str, Any], thresholds: Mapping[str, float]) -> dict[str, Any]:
    """What a candidate's verdict can lean on, over its architectures off the reference's plateau:
    95% bootstrap intervals (over architectures) of its seed tau and its reference tau, the
    permutation p of "ranks like the reference at all", the reference tau on the seeds that chose
    nothing (seed indices >= `SELECTION_SEEDS`: the halving picked survivors on the others), and
    `thin`: each tau whose interval reaches below its threshold."""
    archs = [a for a in c.get("archs") or [] if a.get("proxy_mean") is not None]
    table = np.array([[np.nan if v is None else v for v in a["proxy"]] for a in archs], dtype=float)
    means = np.array([a["proxy_mean"] for a in archs], dtype=float)
    ref = np.array([np.nan if a.get("reference") is None else a["reference"] for a in archs], dtype=float)
    out: dict[str, Any] = {"architectures_in_tau": int((~np.isnan(ref)).sum())}
    lo, hi = bootstrap_interval(kendall_tau, means, ref)
    out["reference_kendall_tau_interval"] = [finite_or_none(lo), finite_or_none(hi)]
    out["reference_kendall_p"] = finite_or_none(kendall_p_greater(means, ref))
    lo_s, hi_s = seed_tau_interval(table) if table.ndim == 2 and table.shape[1] >= 2 else (math.nan, math.nan)
    out["seed_kendall_tau_interval"] = [finite_or_none(lo_s), finite_or_none(hi_s)]
    held = table[:, SELECTION_SEEDS:] if table.ndim == 2 and table.shape[1] > SELECTION_SEEDS else None
    out["held_out_seeds"] = 0 if held is None else int(held.shape[1])
    out["held_out_reference_kendall_tau"] = None if held is None else finite_or_none(kendall_tau(np.nanmean(held, axis=1), ref))
    thin = []
    for key, label, threshold in (("seed_kendall_tau_interval", "seed tau", "seed_tau"), ("reference_kendall_tau_interval", "ref tau", "reference_tau")):
        low, high = out[key]
        if low is not None and low < thresholds[threshold]:
            thin.append(f"{label} interval [{low:.2f}, {high:.2f}] reaches below {thresholds[threshold]}")
    out["thin"] = thin
    return out


def design_frame(rows: Sequence[Row]) -> pd.DataFrame:
    """runs.csv's rows as a frame with the run keys as columns (`role`, `seed_index`, `proxy`):
    `arch`, `arch_id`, `status`, `reward`, `AP50` and `wall_s` (floats, NaN where empty) and `plateau`
    (`is_plateau`), in row order."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "arch": pd.Series([str(r.values["arch"]) for r in rows], dtype=object),
            "arch_id": pd.Series([str(r.values["arch_id"]) for r in rows], dtype=object),
            "run": pd.Series([str(r.values["run"]) for r in rows], dtype=object),
            "status": pd.Series([r.status for r in rows], dtype=object),
            "reward": [r.reward for r in rows],
            "AP50": pd.to_numeric(pd.Series([r.values.get("AP50") for r in rows], dtype=object), errors="coerce"),
            "wall_s": pd.to_numeric(pd.Series([r.values.get("wall_s") for r in rows], dtype=object), errors="coerce"),
            "plateau": pd.Series([is_plateau(r) for r in rows], dtype=bool),
        }
    )
    return with_keys(frame)


def _finished_references(f: pd.DataFrame) -> pd.DataFrame:
    """The finished reference runs of a `design_frame`."""
    return f[(f["role"] == REFERENCE) & (f["status"] == TrialStatus.OK)]


def _plateau_archs(f: pd.DataFrame) -> list[str]:
    """The architectures of a `design_frame` with a reference run on the plateau."""
    return sorted(set(f.loc[(f["role"] == REFERENCE) & f["plateau"], "arch"]))


def reference_seed_tau(rows: Sequence[Row], archs: Sequence[Any]) -> float | None:
    """Kendall tau between the reference's first two seeds over the architectures off its plateau."""
    f = design_frame(rows)
    stuck = set(_plateau_archs(f))
    ids = [a.arch.id for a in archs if a.name not in stuck]
    wide = _finished_references(f).drop_duplicates(["arch_id", "seed_index"], keep="last").pivot(index="arch_id", columns="seed_index", values="reward")
    wide = wide.reindex(index=ids, columns=[0, 1])
    return finite_or_none(kendall_tau(wide[0].to_numpy(dtype=float), wide[1].to_numpy(dtype=float)))


def reference_best_ap50(rows: Sequence[Row]) -> float | None:
    """The best AP50 any finished reference run reached (None: none reported one)."""
    values = _finished_references(design_frame(rows))["AP50"].dropna()
    return float(values.max()) if len(values) else None


def learned_by_reference(rows: Sequence[Row]) -> list[str]:
    """Architectures with a finished reference run and none on the plateau (what a tau can rank)."""
    f = design_frame(rows)
    return sorted(set(_finished_references(f)["arch"]) - set(_plateau_archs(f)))


def reference_plateau(rows: Sequence[Row]) -> list[str]:
    """Architectures whose reference training stayed on the plateau (under any of its seeds)."""
    return _plateau_archs(design_frame(rows))


def _number(v: Any) -> bool:
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def format_design(design: Mapping[str, Any], out_dir: Path) -> str:
    """The report `spinenas proxy-design` prints."""
    t = design["thresholds"]
    lines = [f"proxy design on {design['data']} ({design['train_images']} training images), budget {design['budget_s']:.0f} s per trial", ""]
    lines += [f"rule: {r}" for r in design["rules"]]
    lines += [f"note: {n}" for n in design["notes"]]
    ref = design["reference"]

    def num(v: Any, fmt: str = ".2f") -> str:
        return number(v, fmt, missing="-")

    lines += ["", f"reference: {ref['describe']}, {ref.get('seeds', 1)} seeds (its own seed tau {num(ref.get('seed_kendall_tau'))}), "
              f"about {ref['est_trial_s']:.0f} s per run" + (f"; plateau on {', '.join(ref['plateau'])} (left out of every tau and SNR)" if ref["plateau"] else "")]  # fmt: skip
    lines += ["", f"{'proxy':<5} {'setting':<70} {'est s':>6} {'run s':>6} {'seeds':>5} {'archs':>5} {'seed tau':>8} {'SNR':>6} {'ref tau':>7}  verdict"]

    for c in design["candidates"]:
        lines.append(
            f"{c['name']:<5} {c['describe']:<70} {c['est_trial_s']:>6.0f} {num(c.get('median_trial_s'), '.0f'):>6} {c.get('seeds_done', 0):>5} {c.get('architectures_ranked', 0):>5} "
            f"{num(c.get('seed_kendall_tau')):>8} {num(c.get('signal_to_noise')):>6} {num(c.get('reference_kendall_tau')):>7}  {c['verdict']}" + (" (thin: an interval reaches below its threshold)" if c.get("thin") else "")
        )
    lines.append("")
    lines.append(
        f"thresholds: seed tau >= {t['seed_tau']}, signal-to-noise (noise-corrected) >= {t['snr']}, proxy-vs-reference tau >= {t['reference_tau']}, "
        f"at least {MIN_ARCHS} architectures with results, no plateau or failed run, measured time within the budget"
    )
    lines += design["conclusion"]
    lines += ["", *(f"  {out_dir / name}" for name in ("proxy.yaml", "design.json", "design.png", "runs.csv") if (out_dir / name).exists())]
    return "\n".join(lines)


def plot_design(design: Mapping[str, Any], path: Path) -> None:
    """Each measured candidate's three numbers against its measured trial time, thresholds dashed."""
    import matplotlib.pyplot as plt

    keys = (("seed_kendall_tau", "seed-to-seed Kendall tau", "seed_tau"), ("signal_to_noise", "signal-to-noise", "snr"),
            ("reference_kendall_tau", "proxy-vs-reference Kendall tau", "reference_tau"))  # fmt: skip
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for ax, (key, label, threshold) in zip(axes, keys):
        for c in design["candidates"]:
            if c.get(key) is None:
                continue
            x = c.get("median_trial_s") or c["est_trial_s"]
            colour = "#2a9d3f" if c["verdict"].startswith("ranks") else ("#c44e52" if "plateau" in c["verdict"] else "#4c72b0")
            ax.scatter([x], [c[key]], color=colour, s=20 + 12 * c.get("seeds_done", 1))
            ax.annotate(c["name"], (x, c[key]), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.axhline(design["thresholds"][threshold], ls="--", color="grey", lw=1)
        ax.set_xlabel("trial time (s, measured median)")
        ax.set_ylabel(label)
    fig.suptitle(f"proxy design on {design['data']}: green ranks, red plateau; dot size = seeds measured", fontsize=10)
    save_figure(fig, path)
