"""How big a campaign's cluster is, how many trials it runs at once, which architecture is typical
of a space (what `spinenas plan` times and proxy-design times steps on), and the memory a process
holds (what plan reports a trial needs)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

import numpy as np
import torch

from nas.core.memory import process_memory_mb
from nas.runner.ray_session import ray_session
from nas.settings.search import SearchSettings
from search_space.catalog import get_preset
from search_space.errors import ConfigError
from search_space.spec import Architecture


T = TypeVar("T")


@dataclass
class Cluster:
    """What the search can use: CPUs and GPUs in all, and where that number came from."""

    cpus: float
    gpus: float
    source: str


def cluster_size(settings: SearchSettings, cpus: float | None, gpus: float | None) -> Cluster:
    """CPUs and GPUs the search can use: given, the joined cluster's, or this machine's."""
    ray_cfg = settings.ray
    if cpus is not None or gpus is not None:
        return Cluster(float(cpus if cpus is not None else os.cpu_count() or 1), float(gpus or 0), "given")
    if ray_cfg.address:
        import ray

        with ray_session(ray_cfg):
            res = ray.cluster_resources()
        return Cluster(float(res.get("CPU", 0)), float(res.get("GPU", 0)), f"Ray cluster at {ray_cfg.address}")
    local_cpus = ray_cfg.num_cpus if ray_cfg.num_cpus is not None else os.cpu_count() or 1
    local_gpus = ray_cfg.num_gpus if ray_cfg.num_gpus is not None else torch.cuda.device_count()
    return Cluster(float(local_cpus), float(local_gpus), "this machine")


MEMORY_SHARE = 0.8  # of the machine's memory the trials at once may take together


def with_peak_memory(run: Callable[[], T]) -> tuple[T, float | None]:
    """`run()`'s result and the resident memory this process peaked at while it ran, in MB (the
    peak is reset first; None where it cannot be, not Linux)."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")  # VmHWM starts afresh from now
    except OSError:
        return run(), None
    result = run()
    return result, process_memory_mb().get("peak")


def memory_share_mb(total_mb: float, concurrent: int) -> float:
    """Each trial's share of a machine's memory when `concurrent` run at once: `MEMORY_SHARE` of it
    over them (what plan warns beyond and proxy-design leaves a size out beyond)."""
    return MEMORY_SHARE * total_mb / concurrent


def memory_per_trial_mb(settings: SearchSettings) -> float | None:
    """Each trial's share of this machine's memory (`memory_share_mb`) for the trials `settings`
    run at once; None when the trials run elsewhere (a joined Ray cluster) or the memory is unknown."""
    total = machine_memory_mb()
    if total is None or settings.ray.address:
        return None
    return memory_share_mb(total, concurrent_trials(settings, cluster_size(settings, None, None)))


def machine_memory_mb() -> float | None:
    """This machine's memory in MB (MemTotal of /proc/meminfo); None where there is none."""
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            return next(int(line.split()[1]) / 1024 for line in f if line.startswith("MemTotal:"))
    except (OSError, StopIteration, ValueError):
        return None


def concurrent_trials(settings: SearchSettings, cluster: Cluster) -> int:
    """Trials running at once: max_concurrent, bounded by the CPUs and GPUs trials reserve."""
    trial = settings.top.trial
    bound = min(settings.top.max_concurrent, int(cluster.cpus // trial.cpus + 1e-9))
    if trial.gpus > 0:
        bound = min(bound, int(cluster.gpus / trial.gpus + 1e-9))
    if bound < 1:
        raise ConfigError(
            f"no trial fits the cluster: trial.cpus={trial.cpus:g}, trial.gpus={trial.gpus:g}, "
            f"cluster has {cluster.cpus:g} CPUs and {cluster.gpus:g} GPUs ({cluster.source})"
        )
    return bound


def typical_architecture(settings: SearchSettings, evaluator: Any, samples: int) -> tuple[Architecture, dict[str, float]]:
    """The sample of median proxy FLOPs among `samples` draws (seeded by `seed`), with the spread;
    the first draw where the evaluator has no model to cost."""
    rng = np.random.default_rng(settings.top.seed)
    archs = [settings.space.sample(rng) for _ in range(max(1, samples))]
    preset = get_preset(settings.top.preset)
    costs = [evaluator.cost(arch, preset)["flops"] for arch in archs]
    if not any(costs):
        return archs[0], {}
    order = np.argsort(costs)
    pick = int(order[len(order) // 2])
    return archs[pick], {"timed": costs[pick], "min": min(costs), "median": float(np.median(costs)), "max": max(costs)}
