"""One search trial on a Ray worker: decode the architecture, run the proxy task, report the reward.

Failures inside the trial (a NaN loss, a bad architecture, any exception, a CUDA out-of-memory
error in a GPU share) are reported as a finished trial with status "failed", the error text and a
NaN reward, so the searcher records them and the search goes on; only a lost worker or node
reaches Tune as an errored trial (retried up to `trial.max_failures` times). The evaluator (for
proxy training: the data validated and cached) is kept per worker process, so re-used actors
prepare data once.
"""

from __future__ import annotations

import ctypes
import gc
import json
import math
import os
import platform
import socket
import time
import traceback
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

import torch
from ray import tune

from nas.core.schedule import format_rungs
from nas.core.status import TrialStatus
from nas.evaluators import Evaluator, TrialContext, build_evaluator, with_overrides
from nas.evaluators.joined import JoinedEvaluator
from nas.rewards import compute_reward, objectives_of
from proxy_tasks.train import StepInfo
from search_space.catalog import get_preset
from search_space.spec import from_dict

if TYPE_CHECKING:
    from nas.settings.search import SearchSettings

_EVALUATORS: OrderedDict[str, Evaluator] = OrderedDict()
MAX_EVALUATORS = 2  # a worker keeps the evaluators of its last runs only (memory stays flat over a campaign)


def evaluator_for(options: Any) -> Evaluator:
    """The worker's evaluator for `options`, re-used while runs keep asking for the same options
    and dropped (least recently used first) beyond `MAX_EVALUATORS`; options that differ only in seed
    or length share the prepared data anyway (`nas.evaluators.training.shared_task`)."""
    key = json.dumps(asdict(options), sort_keys=True)
    if key not in _EVALUATORS:
        _EVALUATORS[key] = build_evaluator(options)
        while len(_EVALUATORS) > MAX_EVALUATORS:
            _EVALUATORS.popitem(last=False)
    _EVALUATORS.move_to_end(key)
    return _EVALUATORS[key]


def machine_name() -> str:
    """What trained: the CPU model, torch's CPU kernel level and the torch version, e.g.
    `Intel(R) Xeon(R) Processor / AVX512 / torch 2.13.0` (a table's times only compare within one)."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model)
    except OSError:
        pass
    return f"{model} / {torch.backends.cpu.get_cpu_capability()} / torch {torch.__version__.split('+')[0]}"


def node_name() -> str:
    """The Ray node this trial runs on: `<ip>/<first 8 hex digits of the node id>`.

    The id part tells apart nodes sharing an address (several `ray start` on one machine); outside
    Ray it is the host name.
    """
    try:
        import ray

        if ray.is_initialized():
            return f"{ray.util.get_node_ip_address()}/{ray.get_runtime_context().get_node_id()[:8]}"
    except Exception:  # noqa: BLE001
        pass
    return socket.gethostname()


@dataclass(frozen=True)
class TrialSpec:
    """What every trial of a campaign shares besides its architecture: the evaluator's options
    (`proxy`), the reward, the scaling preset, CPU threads and GPU share per trial, the rung epochs
    of a scheduler (`eval_at`), and the evaluators joined to every evaluation (`joined`: those the
    reward's costs need, `nas.evaluators.joined`)."""

    proxy: Any
    reward: Any
    preset: str = "spinenet49"
    threads: int = 1
    gpus: float = 0.0
    eval_at: tuple[int, ...] = ()
    joined: tuple[JoinedEvaluator, ...] = ()

    @classmethod
    def of(cls, settings: SearchSettings, eval_at: Sequence[int] = ()) -> "TrialSpec":
        """The spec of a campaign's trials under `settings`."""
        top = settings.top
        return cls(settings.proxy, settings.reward, top.preset, settings.threads, top.trial.gpus, tuple(eval_at), tuple(settings.joined))


def run_trial(config: dict[str, Any], spec: TrialSpec, report: Callable[[dict[str, Any]], None] | None = None, max_steps: int | None = None) -> dict[str, Any]:
    """Run one trial and return its final result (also usable without Ray).

    `config["proxy_overrides"]`, when present, replaces some of the spec's proxy options for this
    trial (seed, epochs). With `spec.eval_at` (a scheduler's rung epochs) the proxy is evaluated
    after those epochs and `report` gets each partial result (status `partial`); the scheduler may
    end the trial there. `max_steps` ends the training early (`spinenas plan` times a few steps).
    The joined evaluators add their metrics to those of every evaluation, the rung ones included,
    before the reward is computed.
    Cost: `wall_s`, `cpu_s` (this process's CPU time) and `gpu_s` = wall time x the GPU share held.
    """
    proxy, reward, preset, threads, gpus, eval_at, joined = spec.proxy, spec.reward, spec.preset, spec.threads, spec.gpus, spec.eval_at, spec.joined
    torch.set_num_threads(max(1, threads))
    t0, c0 = time.perf_counter(), time.process_time()
    base: dict[str, Any] = {"node": node_name(), "pid": os.getpid(), "machine": machine_name()}

    def cost() -> dict[str, float]:
        wall = time.perf_counter() - t0
        return {"wall_s": wall, "cpu_s": time.process_time() - c0, "gpu_s": wall * gpus}

    curve = LossCurve(report, base) if report is not None else None
    rungs = RungLog(reward, report, lambda: {**({"timesteps_total": curve.step} if curve else {}), **base, **cost()})
    if "cached_result" in config:
        out = dict(config["cached_result"], status=TrialStatus.CACHED.value, error="")
    else:
        try:
            arch = from_dict(config["arch"], source=f"trial architecture {config.get('arch_id', '?')}")
            evaluator = evaluator_for(with_overrides(proxy, config.get("proxy_overrides")))
            ctx = TrialContext(get_preset(preset), eval_at=eval_at, on_eval=rungs, on_step=curve, max_steps=max_steps)
            for other in joined:
                rungs.added.update(other.evaluate(arch, ctx))
            out = final_result({**evaluator.evaluate(arch, ctx), **rungs.added}, reward)
        except Exception as e:  # noqa: BLE001 - every failure becomes a recorded, failed trial
            tb = traceback.extract_tb(e.__traceback__)
            where = f" at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else ""
            out = {"status": TrialStatus.FAILED.value, "error": f"{type(e).__name__}: {e}{where}", "reward": math.nan}
        if rungs.history:
            out["rungs"] = rungs.text()
    out.update(base, **cost())
    release_memory()
    return out


def final_result(metrics: dict[str, Any], reward: Any) -> dict[str, Any]:
    """The metrics with the reward and the trial's status (failed when the reward is not finite)."""
    value = compute_reward(metrics, reward)
    status, error = (TrialStatus.OK.value, "") if math.isfinite(value) else (TrialStatus.FAILED.value, f"metric {reward.metric} is not finite")
    out = dict(metrics, reward=value, status=status, error=error)
    if "steps" in metrics:
        out["timesteps_total"] = metrics["steps"]  # TensorBoard's x axis: training steps
    return out


class RungLog:
    """A trial's evaluations at the scheduler's rungs: the reward at each (and, for a reward with
    several objectives, every objective's value, so a resumed scheduler reads them back), each
    reported as a partial result with `extra()` (steps, node, cost so far). `added` holds the
    metrics another evaluator joins to every evaluation (latency)."""

    def __init__(self, reward: Any, report: Callable[[dict[str, Any]], None] | None, extra: Callable[[], dict[str, Any]]) -> None:
        self.reward, self.report, self.extra = reward, report, extra
        self.objectives = objectives_of(reward)
        self.history: list[tuple[int, float]] = []
        self.metrics: list[dict[str, float]] = []
        self.added: dict[str, Any] = {}

    def __call__(self, epoch: int, metrics: dict[str, Any]) -> None:
        metrics = {**metrics, **self.added}
        value = compute_reward(metrics, self.reward)
        self.history.append((epoch, value))
        if len(self.objectives) > 1:
            self.metrics.append({o.metric: o.value(metrics) for o in self.objectives})
        if self.report is not None:
            self.report(dict(metrics, reward=value, status=TrialStatus.PARTIAL.value, error="", rungs=self.text(), **self.extra()))

    def text(self) -> str:
        """The trials.csv `rungs` cell (`nas.core.schedule.format_rungs`)."""
        return format_rungs(self.history, self.metrics)


def release_memory() -> None:
    """Free what the finished run built (model, optimiser, loaders) and hand glibc's free pages back
    to the system, so a re-used worker's resident memory does not ratchet up run after run."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): the allocator keeps its pages
        pass


class LossCurve:
    """Reports the training loss to Tune about `points` times per trial (status `curve`, no
    reward, so schedulers and searchers pass over them); Tune's TensorBoard logger plots them
    against `timesteps_total` (training steps)."""

    def __init__(self, report: Callable[[dict[str, Any]], None], base: dict[str, Any], points: int = 20) -> None:
        self.report, self.base, self.points = report, base, points
        self.losses: list[float] = []
        self.step = 0

    def __call__(self, info: StepInfo) -> None:
        self.losses.append(info.loss)
        self.step = info.step
        every = max(1, info.total // self.points)
        if info.step % every == 0 or info.step == info.total:
            loss = sum(self.losses) / len(self.losses)
            self.losses = []
            self.report(
                {"status": TrialStatus.CURVE.value, "loss": loss, "lr": info.lr, "images_per_s": info.images_per_s,
                 "timesteps_total": info.step, "progress": info.step / info.total, **self.base}
            )  # fmt: skip


def trainable(config: dict[str, Any], spec: TrialSpec) -> None:
    """Ray Tune function trainable: partial reports at the rung epochs, then the final one."""
    tune.report(run_trial(config, spec, report=tune.report))
