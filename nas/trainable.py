"""One search trial on a Ray worker: decode the architecture, run the proxy task, report the reward.

Failures inside the trial (a NaN loss, a bad architecture, any exception) are reported as a
finished trial with status "failed", the error text and a NaN reward, so the searcher records them and the
search goes on; only a lost worker reaches Tune as an errored trial. The proxy task (data
validated and cached) is kept per worker process, so re-used actors prepare data once.
"""

from __future__ import annotations

import json
import math
import os
import socket
import time
import traceback
from dataclasses import asdict
from typing import Any

import torch
from ray import tune

from nas.reward import RewardConfig, compute_reward
from proxy_tasks.surrogate import SurrogateConfig, SurrogateTask
from proxy_tasks.task import ProxyConfig, ProxyTask
from search_space.catalog import get_preset
from search_space.spec import from_dict

_TASKS: dict[str, Any] = {}


def proxy_task(proxy: ProxyConfig | SurrogateConfig) -> ProxyTask | SurrogateTask:
    """The worker's task object for `proxy`, created once per process."""
    key = json.dumps(asdict(proxy), sort_keys=True)
    if key not in _TASKS:
        if isinstance(proxy, SurrogateConfig):
            _TASKS[key] = SurrogateTask(proxy)
        else:
            _TASKS[key] = ProxyTask(proxy, log=lambda _msg: None)
    return _TASKS[key]


def node_name() -> str:
    """The Ray node this trial runs on (its IP), or the host name outside Ray."""
    try:
        import ray

        return ray.util.get_node_ip_address()
    except Exception:  # noqa: BLE001
        return socket.gethostname()


def run_trial(config: dict[str, Any], proxy: ProxyConfig | SurrogateConfig, reward: RewardConfig, preset: str, threads: int) -> dict[str, Any]:
    """Run one trial and return what it reports (also usable without Ray)."""
    torch.set_num_threads(max(1, threads))
    t0, c0 = time.perf_counter(), time.process_time()
    base = {"node": node_name(), "pid": os.getpid()}
    if "cached_result" in config:
        out = dict(config["cached_result"], status="cached", error="")
    else:
        try:
            arch = from_dict(config["arch"], source=f"trial architecture {config.get('arch_id', '?')}")
            task = proxy_task(proxy)
            if isinstance(task, SurrogateTask):
                metrics = task.run(arch)
            else:
                metrics = task.run(arch, get_preset(preset)).metrics
            value = compute_reward(metrics, reward)
            status, error = ("ok", "") if math.isfinite(value) else ("failed", f"metric {reward.metric} is not finite")
            out = dict(metrics, reward=value, status=status, error=error)
        except Exception as e:  # noqa: BLE001 - every failure becomes a recorded, failed trial
            tb = traceback.extract_tb(e.__traceback__)
            where = f" at {tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else ""
            out = {"status": "failed", "error": f"{type(e).__name__}: {e}{where}", "reward": math.nan}
    out.update(base, wall_s=time.perf_counter() - t0, cpu_s=time.process_time() - c0)
    if torch.cuda.is_available() and out["status"] == "ok":
        out["gpu_s"] = out["wall_s"]
    return out


def trainable(config: dict[str, Any], proxy: ProxyConfig | SurrogateConfig, reward: RewardConfig, preset: str, threads: int) -> None:
    """Ray Tune function trainable: one report per trial (reward NaN when the trial failed)."""
    tune.report(run_trial(config, proxy, reward, preset, threads))
