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
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
from omegaconf import OmegaConf
from ray.tune.search import Searcher

from nas.config import ConfigError
from nas.ranking import kendall_tau, seed_agreement, signal_to_noise, spearman_rho
from nas.results import append_csv_row, csv_cell, read_csv_records, save_figure, write_csv
from nas.search import Progress, SearchSettings, check_resumable, connect_ray, load_settings, run_trials
from nas.status import TrialStatus
from nas.train_run import default_out_dir
from proxy_tasks.surrogate import SurrogateConfig
from proxy_tasks.task import ProxyTask
from search_space.catalog import get_architecture, get_preset
from search_space.fileio import atomic_write_text
from search_space.spec import Architecture

COLUMNS = (
    "number", "trial_id", "arch", "arch_id", "kind", "run", "seed", "epochs", "status", "reward", "AP", "AP50", "AP75",
    "APs", "APm", "APl", "flops", "params", "wall_s", "cpu_s", "gpu_s", "node", "error", "finished_at",
)  # fmt: skip
CATALOG_ANCHORS = ("spinenet49", "resnet50_fpn")
REFERENCE = "reference"
FIXED = ("space", "proxy", "reward", "preset", "fidelity")  # must not change between a run and its resume
POOL_PER_ARCH = 8  # candidates drawn per architecture chosen, to spread the choice over the FLOPs range


@dataclass(frozen=True)
class Candidate:
    """An architecture under test: its name in the report, how it was chosen, its proxy FLOPs."""

    name: str
    kind: str  # sampled | catalog | coarsest
    arch: Architecture
    flops: int


@dataclass(frozen=True)
class FidelityOptions:
    """How many architectures and seeds, and the reference training's length (0: no reference)."""

    archs: int = 12
    seeds: int = 3
    reference_epochs: int | None = None  # None: 4x the proxy's epochs

    def resolved(self, settings: SearchSettings) -> "FidelityOptions":
        """Options with the reference length filled in; bad values raise `ConfigError`."""
        if self.archs < 2:
            raise ConfigError(f"--archs must be >= 2 (a ranking needs two architectures), got {self.archs}")
        if self.seeds < 1:
            raise ConfigError(f"--seeds must be >= 1, got {self.seeds}")
        epochs = settings.epochs
        reference = self.reference_epochs
        if reference is None:
            reference = 4 * epochs if epochs else 1
        if reference < 0:
            raise ConfigError(f"--reference-epochs must be >= 0 (0: no reference runs), got {reference}")
        return FidelityOptions(self.archs, self.seeds, reference)


@dataclass
class FidelityOutcome:
    """What a finished fidelity run produced."""

    out_dir: Path
    summary: dict[str, Any]


@dataclass
class FidelityRun:
    """One training of one candidate: a proxy seed, or the reference."""

    candidate: Candidate
    run: str  # seed<k> | reference
    seed: int
    overrides: dict[str, Any]
    units: float = 1.0  # relative length (epochs), for the time-left estimate

    @property
    def key(self) -> tuple[str, str]:
        return (self.candidate.arch.id, self.run)

    def trial_config(self) -> dict[str, Any]:
        """The trainable's config: the search's keys plus the proxy fields this run changes."""
        arch = self.candidate.arch
        return {"arch": arch.to_dict(), "arch_id": arch.id, "proxy_overrides": dict(self.overrides), "run": self.run}


@dataclass
class FidelityFolder:
    """The rows of fidelity.csv, read back on resume and appended as runs finish."""

    path: Path
    rows: list["Row"] = field(default_factory=list)
    retries: dict[str, int] = field(default_factory=dict)
    planned: list[FidelityRun] = field(default_factory=list)

    @property
    def csv(self) -> Path:
        return self.path / "fidelity.csv"

    def start(self, resume: bool) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.rows = [Row(rec) for rec in read_csv_records(self.csv)] if resume else []
        write_csv(self.csv, COLUMNS, [r.values for r in self.rows])  # the header; drops a torn last line

    def append(self, run: FidelityRun, trial_id: str, result: dict[str, Any]) -> None:
        values = {k: csv_cell(result.get(k)) for k in COLUMNS}
        values.update(
            number=len(self.rows) + 1,
            trial_id=trial_id,
            arch=run.candidate.name,
            arch_id=run.candidate.arch.id,
            kind=run.candidate.kind,
            run=run.run,
            seed=run.seed,
            epochs=run.overrides.get("epochs", ""),
            error=str(result.get("error", "")).replace("\n", " ")[:500],
            finished_at=time.strftime("%Y-%m-%dT%H:%M:%S"),
        )
        append_csv_row(self.csv, COLUMNS, values)
        self.rows.append(Row({k: str(v) for k, v in values.items()}))

    def done(self) -> set[tuple[str, str]]:
        return {(r.values["arch_id"], r.values["run"]) for r in self.rows}

    def work(self, start_rows: int) -> tuple[float, float]:
        """Epochs trained since row `start_rows`, and epochs of the planned runs not yet done."""
        units = {r.key: r.units for r in self.planned}
        since = sum(units.get((r.values["arch_id"], r.values["run"]), 1.0) for r in self.rows[start_rows:])
        done = self.done()
        return since, sum(r.units for r in self.planned if r.key not in done)

    def headline(self) -> str:
        """The status line's summary: how many architectures have every proxy seed."""
        seeds: dict[str, int] = {}
        for r in self.rows:
            if r.status == TrialStatus.OK and r.values["run"] != REFERENCE:
                seeds[r.values["arch"]] = seeds.get(r.values["arch"], 0) + 1
        top = max(seeds.values(), default=0)
        return f"{sum(n == top for n in seeds.values()) if top else 0} architectures with {top} seeds"


@dataclass
class Row:
    """A fidelity.csv record."""

    values: dict[str, str]

    @property
    def status(self) -> str:
        return self.values["status"]

    @property
    def reward(self) -> float:
        try:
            return float(self.values["reward"])
        except ValueError:
            return math.nan


class RunList(Searcher):
    """Hands Tune the planned runs in order and records each finished one in the folder."""

    def __init__(self, runs: Sequence[FidelityRun], folder: FidelityFolder) -> None:
        super().__init__(metric="reward", mode="max")
        self.queue, self.folder = list(runs), folder
        self.pending: dict[str, FidelityRun] = {}

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        return True

    def suggest(self, trial_id: str) -> dict[str, Any] | str | None:
        if not self.queue:
            return Searcher.FINISHED
        run = self.queue.pop(0)
        self.pending[trial_id] = run
        return run.trial_config()

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        run = self.pending.pop(trial_id, None)
        if run is None:
            return  # a repeated completion: already recorded
        result = dict(result or {})
        if error or result.get("status") != TrialStatus.OK:
            result["status"] = TrialStatus.FAILED.value
            result["error"] = result.get("error") or "trial failed in Ray (raised, or its worker was lost)"
            result["reward"] = math.nan
        self.folder.append(run, trial_id, result)

    def save(self, checkpoint_path: str) -> None:
        """Tune's own copy; the state that counts is fidelity.csv."""
        atomic_write_text(Path(checkpoint_path), json.dumps({"pending": [r.run for r in self.pending.values()]}))

    def restore(self, checkpoint_path: str) -> None:
        pass


def run_fidelity(overrides: Sequence[str], options: FidelityOptions) -> FidelityOutcome:
    """Measure how well the configured proxy ranks architectures; resumable like a search."""
    settings = load_settings(overrides)
    cfg = settings.cfg
    options = options.resolved(settings)
    out = Path(cfg.out_dir) if cfg.out_dir else default_out_dir("fidelity")
    record = OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))  # the config plus the fidelity options
    record.fidelity = {"archs": options.archs, "seeds": options.seeds, "reference_epochs": options.reference_epochs}
    folder = FidelityFolder(out)
    if cfg.resume:
        check_resumable(out, record, FIXED)
    elif folder.csv.exists():
        raise ConfigError(f"{out} already holds a fidelity run; continue it with resume=true or choose another out_dir")

    candidates = choose_candidates(settings, options.archs)
    runs = plan_runs(settings, candidates, options)
    folder.planned = runs
    started_ray = connect_ray(settings.ray)
    try:
        folder.start(resume=settings.top.resume)
        unknown = {r.values["arch_id"] for r in folder.rows} - {c.arch.id for c in candidates}
        if unknown:
            raise ConfigError(f"resume: {out} holds runs of architectures this config does not choose ({', '.join(sorted(unknown))})")
        atomic_write_text(out / "config.yaml", OmegaConf.to_yaml(record))
        for c in candidates:
            c.arch.with_name(c.name).save(out / "archs" / f"{c.name}.yaml")
        done = folder.done()
        remaining = [r for r in runs if r.key not in done]
        progress = Progress(folder, len(runs), settings.top.progress_every_s, label="fidelity")
        if remaining:
            run_trials(settings, RunList(remaining, folder), len(remaining), out, progress, "fidelity")
    finally:
        if started_ray:
            import ray

            ray.shutdown()
    summary = summarize(folder.rows, candidates, options, settings)
    atomic_write_text(out / "fidelity.json", json.dumps(summary, indent=2, allow_nan=False, default=str) + "\n")
    plot_fidelity(summary, out / "fidelity.png")
    progress.print_line()
    return FidelityOutcome(out, summary)


def choose_candidates(settings: SearchSettings, n: int) -> list[Candidate]:
    """`n` samples of the space spread evenly over its proxy FLOPs range, then the anchors.

    Deterministic for a config: the pool is `POOL_PER_ARCH * n` draws seeded by `seed`; the chosen
    ones sit at evenly spaced ranks of the pool's FLOPs (the cheapest and the dearest included).
    """
    space = settings.space
    preset = get_preset(settings.top.preset)
    task = None if isinstance(settings.proxy, SurrogateConfig) else ProxyTask(settings.proxy)

    def flops(arch: Architecture) -> int:
        return int(task.model_cost(arch, preset)["flops"]) if task is not None else 0

    anchors = [Candidate(name, "catalog", get_architecture(name), 0) for name in CATALOG_ANCHORS]
    coarsest = space.coarsest()
    anchors.append(Candidate(coarsest.name, "coarsest", coarsest, 0))
    taken = {a.arch.id for a in anchors}
    rng = np.random.default_rng(settings.top.seed)
    pool: dict[str, Architecture] = {}
    for _ in range(POOL_PER_ARCH * n):
        arch = space.sample(rng)
        if arch.id not in taken:
            pool.setdefault(arch.id, arch)
    if len(pool) < n:
        raise ConfigError(f"space {space.name} gave only {len(pool)} distinct architectures in {POOL_PER_ARCH * n} draws; ask for fewer --archs")
    costed = sorted(((flops(a), a.id, a) for a in pool.values()), key=lambda t: (t[0], t[1]))
    picks = np.unique(np.round(np.linspace(0, len(costed) - 1, n)).astype(int))
    sampled = [Candidate(f"sample{k:02d}", "sampled", costed[i][2], costed[i][0]) for k, i in enumerate(picks)]
    return sampled + [Candidate(a.name, a.kind, a.arch, flops(a.arch)) for a in anchors]


def plan_runs(settings: SearchSettings, candidates: Sequence[Candidate], options: FidelityOptions) -> list[FidelityRun]:
    """Every proxy seed of every candidate (seed by seed), then the reference runs."""
    base_seed = int(settings.proxy.seed)
    epochs = float(settings.epochs or 1)
    runs = [
        FidelityRun(c, f"seed{k}", base_seed + k, {"seed": base_seed + k}, epochs)
        for k in range(options.seeds)
        for c in candidates
    ]
    if options.reference_epochs:
        # The surrogate's "longer training" is its noise-free score.
        surrogate = isinstance(settings.proxy, SurrogateConfig)
        ref = {"noise": 0.0} if surrogate else {"epochs": options.reference_epochs}
        units = epochs if surrogate else float(options.reference_epochs)
        runs += [FidelityRun(c, REFERENCE, base_seed, dict(ref, seed=base_seed), units) for c in candidates]
    return runs


def summarize(rows: Sequence[Row], candidates: Sequence[Candidate], options: FidelityOptions, settings: SearchSettings) -> dict[str, Any]:
    """The fidelity numbers of the finished runs (fidelity.json)."""
    seeds = [f"seed{k}" for k in range(options.seeds)]
    score = {(r.values["arch_id"], r.values["run"]): (r.reward if r.status == TrialStatus.OK else math.nan) for r in rows}
    table = np.array([[score.get((c.arch.id, s), math.nan) for s in seeds] for c in candidates], dtype=float)
    reference = np.array([score.get((c.arch.id, REFERENCE), math.nan) for c in candidates], dtype=float)
    finished = [row[~np.isnan(row)] for row in table]
    means = np.array([v.mean() if len(v) else math.nan for v in finished])
    stds = np.array([v.std(ddof=1) if len(v) > 1 else math.nan for v in finished])
    order = np.argsort(-np.nan_to_num(means, nan=-np.inf), kind="stable")
    rank = {int(i): k + 1 for k, i in enumerate(order) if not math.isnan(means[i])}
    archs = [
        {
            "name": c.name,
            "kind": c.kind,
            "arch_id": c.arch.id,
            "flops": c.flops,
            "proxy": [_finite(v) for v in table[i]],
            "proxy_mean": _finite(means[i]),
            "proxy_std": _finite(stds[i]),
            "proxy_rank": rank.get(i),
            "reference": _finite(reference[i]),
        }
        for i, c in enumerate(candidates)
    ]
    agreement = seed_agreement(table)
    summary: dict[str, Any] = {
        "proxy": settings.proxy.name,
        "space": settings.space.name,
        "metric": settings.reward.metric,
        "architectures": len(candidates),
        "seeds": options.seeds,
        "reference_epochs": options.reference_epochs,
        "reference": _reference_name(settings, options),
        "runs": len(rows),
        "failed": sum(r.status != TrialStatus.OK for r in rows),
        "seed_kendall_tau": _finite(agreement["kendall_tau"]),
        "seed_spearman_rho": _finite(agreement["spearman_rho"]),
        "seed_pairs": agreement["pairs"],
        "signal_to_noise": _finite(signal_to_noise(table)),
        "reference_kendall_tau": _finite(kendall_tau(means, reference)) if options.reference_epochs else None,
        "reference_spearman_rho": _finite(spearman_rho(means, reference)) if options.reference_epochs else None,
        "archs": archs,
    }
    summary["checks"] = _anchor_checks(archs)
    return summary


def _reference_name(settings: SearchSettings, options: FidelityOptions) -> str | None:
    if not options.reference_epochs:
        return None
    return "noise-free score" if isinstance(settings.proxy, SurrogateConfig) else f"{options.reference_epochs} epochs"


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

    def num(v: Any) -> str:
        return "n/a" if v is None else f"{v:.2f}"

    lines += [
        "",
        f"seed-to-seed Kendall tau {num(summary['seed_kendall_tau'])}, Spearman rho {num(summary['seed_spearman_rho'])} "
        f"(mean over {summary['seed_pairs']} seed pairs)",
        f"signal-to-noise {num(summary['signal_to_noise'])} (std of architecture means / mean seed std)",
    ]
    if summary["reference_kendall_tau"] is not None:
        lines.append(f"proxy vs reference Kendall tau {num(summary['reference_kendall_tau'])}, Spearman rho {num(summary['reference_spearman_rho'])}")
    checks = summary["checks"]
    if "spinenet49_minus_resnet50_fpn" in checks:
        lines.append(
            f"SpineNet-49 minus ResNet-50-FPN: {checks['spinenet49_minus_resnet50_fpn']:+.4f} ({num(checks['gap_in_seed_std'])} seed std)"
        )
    if "coarsest_rank" in checks:
        lines.append(f"the coarsest architecture ranks {checks['coarsest_rank']} of {checks['ranked']}")
    lines += [f"note: {n}" for n in _reading_notes(summary)]
    lines += ["", f"  {out_dir / 'fidelity.csv'}", f"  {out_dir / 'fidelity.json'}", f"  {out_dir / 'fidelity.png'}"]
    return "\n".join(lines)


def _reading_notes(summary: dict[str, Any]) -> list[str]:
    notes = []
    snr, tau = summary["signal_to_noise"], summary["seed_kendall_tau"]
    if snr is not None and snr < 3:
        notes.append("signal-to-noise under 3: seeds move scores about as much as architectures do (docs/fidelity.md)")
    if tau is not None and tau < 0.6:
        notes.append("seed-to-seed tau under 0.6: two seeds often order architectures differently (docs/fidelity.md)")
    ref = summary["reference_kendall_tau"]
    if ref is not None and ref < 0.5:
        notes.append("the proxy's order departs from the reference training's: a longer proxy may be needed (docs/fidelity.md)")
    return notes


def plot_fidelity(summary: dict[str, Any], path: Path) -> None:
    """Proxy score (seed mean, error bar = seed std) against the reference score, and against FLOPs."""
    import matplotlib

    matplotlib.use("Agg")
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

    def num(v: Any) -> str:
        return "n/a" if v is None else f"{v:.2f}"

    title = f"{summary['proxy']}: seed tau {num(summary['seed_kendall_tau'])}, SNR {num(summary['signal_to_noise'])}"
    if summary["reference_kendall_tau"] is not None:
        title += f", proxy-vs-reference tau {num(summary['reference_kendall_tau'])}"
    fig.suptitle(title, fontsize=10)
    save_figure(fig, path)


def _finite(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None



