"""`spinenas plan`: time one real proxy trial here and estimate what the configured search costs.

The trial is the search's own (`run_trial`, the same proxy, threads and GPU share) on the sampled
architecture of median FLOPs among `samples` draws from the space, so its time is typical. With
`steps` set, only that many training steps run and the trial time is extrapolated from the
per-step time plus a measured final evaluation. The estimate is then scaled to the search:
ASHA's expected epochs and rung evaluations, the concurrent trials the cluster holds, the budget.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence


from nas.core.status import TrialStatus
from nas.runner.prepare import prepare
from nas.runner.sizing import MEMORY_SHARE, Cluster, cluster_size, concurrent_trials, machine_memory_mb, memory_share_mb, typical_architecture, with_peak_memory
from nas.runner.trial import TrialSpec, evaluator_for, run_trial
from nas.settings.search import SearchSettings, settings_from
from search_space.errors import ConfigError


@dataclass
class PlanEstimate:
    """A cost estimate of a configured search from one timed trial."""

    trials: int
    concurrent: int
    cluster: Cluster
    timed_arch: str
    flops: dict[str, float] = field(default_factory=dict)  # timed, min, median, max of the samples
    measured: dict[str, float] = field(default_factory=dict)
    per_trial_s: float = 0.0
    wall_s: float = 0.0
    gpu_hours: float = 0.0
    cpu_hours: float = 0.0
    peak_memory_mb: float | None = None  # this process's peak during the timed trial: imports, the worker's data, one training
    machine_memory_mb: float | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan(given: SearchSettings | Sequence[str], steps: int | None = None, cpus: float | None = None, gpus: float | None = None, samples: int = 16) -> PlanEstimate:
    """Time one trial of the search `overrides` configure; `cpus`/`gpus` describe another cluster."""
    settings = settings_from(given)
    if steps is not None and steps < 2:
        raise ConfigError(f"--steps must be >= 2 (the first step is timed apart), got {steps}")
    prepare(settings)
    cluster = cluster_size(settings, cpus, gpus)
    concurrent = concurrent_trials(settings, cluster)

    t = time.perf_counter()
    evaluator = evaluator_for(settings.proxy)  # the trial below re-uses it, with its prepared data
    arch, flops = typical_architecture(settings, evaluator, samples)
    prep_s = time.perf_counter() - t
    # The search's own trial code, on the whole trial (rungs included) or its first `steps` steps.
    config = {"arch": arch.to_dict(), "arch_id": arch.id}
    eval_at = settings.eval_at if steps is None else []
    # the trial's peak, on top of what a worker holds (its data), not the driver's checks before
    result, peak_mb = with_peak_memory(
        lambda: run_trial(config, TrialSpec.of(settings, eval_at), max_steps=steps)
    )
    if result["status"] == TrialStatus.FAILED:
        raise ConfigError(f"the timed trial failed: {result['error']}")

    per_trial, measured = evaluator.trial_seconds(result, settings.scheduler, steps)
    measured["setup_s"] = prep_s
    trials = settings.top.trials
    wall = measured["setup_s"] + trials * per_trial / concurrent
    estimate = PlanEstimate(
        trials=trials,
        concurrent=concurrent,
        cluster=cluster,
        timed_arch=f"{arch.name} ({arch.id})",
        flops=flops,
        measured=measured,
        per_trial_s=per_trial,
        wall_s=max(wall, per_trial),
        gpu_hours=trials * per_trial * settings.top.trial.gpus / 3600,
        cpu_hours=trials * per_trial * settings.top.trial.cpus / 3600,
        peak_memory_mb=peak_mb,
        machine_memory_mb=machine_memory_mb() if cluster.source == "this machine" else None,
    )
    estimate.notes = _notes(settings, estimate, steps)
    return estimate


def _notes(settings: SearchSettings, est: PlanEstimate, steps: int | None) -> list[str]:
    notes = []
    if est.flops and est.flops["median"] > 0:
        lo, hi = est.flops["min"] / est.flops["median"], est.flops["max"] / est.flops["median"]
        notes.append(f"sampled architectures span {lo:.2f}x to {hi:.2f}x the timed one's FLOPs; training time follows roughly")
    if settings.scheduler.enabled:
        notes.append("ASHA: assumes each rung keeps 1/reduction_factor; early trials meet no cutoff, so the real cost is higher")
    if settings.top.dedup:
        notes.append("repeated architectures re-use results (dedup=true), which makes the real cost lower")
    if est.cluster.source == "this machine" and est.concurrent > 1:
        notes.append(f"{est.concurrent} trials at once on this machine share memory bandwidth; timed alone, so an optimistic wall time")
    if est.peak_memory_mb and est.machine_memory_mb and est.peak_memory_mb > memory_share_mb(est.machine_memory_mb, est.concurrent):
        notes.append(
            f"{est.concurrent} trials at once need about {est.concurrent * est.peak_memory_mb / 1024:.1f} GB, more than {MEMORY_SHARE:.0%} of this "
            f"machine's {est.machine_memory_mb / 1024:.0f} GB: lower max_concurrent, proxy.batch_size or proxy.image_size, or a worker may be killed"
        )
    if steps is not None:
        notes.append("extrapolated from a few steps; the final evaluation was timed on a barely trained model")
    device = est.measured.get("device", "")
    if settings.top.trial.gpus > 0 and device and not str(device).startswith("cuda"):
        notes.append(f"timed on {device}, but trials will hold GPUs (trial.gpus={settings.top.trial.gpus:g}): run plan on a GPU node for real numbers")
    return notes


def format_plan(est: PlanEstimate) -> str:
    """The estimate as the lines `spinenas plan` prints."""
    m = est.measured
    c = est.cluster
    how = f" ({m['mode']})" if "mode" in m else ""  # what the evaluator's `trial_seconds` says it timed
    lines = [f"timed: {est.timed_arch} on {m.get('device') or 'this machine'}{how}"]
    if "step_s" in m:
        lines.append(
            f"  {m['step_s'] * 1000:.0f} ms/step x {m['steps_per_epoch']} steps/epoch, build {m['build_s']:.1f} s, "
            f"evaluation {m['eval_s']:.1f} s; data setup {m['setup_s']:.1f} s (once per worker)"
        )
        if m["rung_evaluations"]:
            lines.append(f"  ASHA: {m['expected_epochs']:.2f} of {m['epochs']} epochs and {m['rung_evaluations']:.2f} rung evaluations per trial on average")
    lines += [
        f"per trial: {_duration(est.per_trial_s)}",
        f"cluster: {c.cpus:g} CPUs, {c.gpus:g} GPUs ({c.source}) -> {est.concurrent} trials at once",
        f"search of {est.trials} trials: about {_duration(est.wall_s)} wall, {est.gpu_hours:.2f} GPU-hours, {est.cpu_hours:.2f} CPU-hours",
    ]
    if est.peak_memory_mb:
        of = f" of this machine's {est.machine_memory_mb / 1024:.0f} GB" if est.machine_memory_mb else ""
        lines.append(
            f"memory: a trial's worker peaks at about {est.peak_memory_mb / 1024:.1f} GB resident (data loader processes apart); "
            f"{est.concurrent} at once: ~{est.concurrent * est.peak_memory_mb / 1024:.1f} GB{of}"
        )
    lines += [f"note: {n}" for n in est.notes]
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.1f} s"
