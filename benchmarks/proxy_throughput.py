"""Proxy-training throughput, where the time of one trial goes, and how close it runs to the machine.

Run: .venv/bin/python benchmarks/proxy_throughput.py proxy=synthetic [Hydra overrides] [--profile 40]

Without --profile: one full trial; prints images/s and the shares of the trial's wall time spent
waiting on data, evaluating, building the model and preparing data.

With --profile N: N training steps (after 5 warm-up steps) under torch.profiler, attributed to
convolutions (by pyramid level and input width), norm, activations, resampling, element-wise
fusion, the loss and anchor matching, the optimiser, and what no operator accounts for (Python and
framework overhead), plus the trial's evaluation share from a full trial (--trial). It also prints
the detector's training FLOPs per image (3x the forward multiply-adds, 2 FLOPs each) and this
machine's matmul throughput on one core and on the trial's threads, so that the fraction of peak
(training FLOP/s / matmul FLOP/s) is a number anyone can recompute.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from collections import defaultdict
from typing import Any

import torch

from nas.settings.schemas import compose, proxy_config
from proxy_tasks.task import ProxyTask
from search_space.catalog import get_architecture, preset_for

# aten operator (self time) -> category; the first matching prefix wins.
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("conv", ("aten::mkldnn_convolution", "aten::convolution_backward", "aten::_slow_conv2d", "aten::thnn_conv2d", "aten::_convolution", "aten::conv2d", "aten::convolution", "aten::_nnpack")),
    ("norm", ("aten::native_group_norm", "aten::native_batch_norm", "aten::group_norm", "aten::batch_norm", "aten::_batch_norm", "aten::native_layer_norm")),
    ("activation", ("aten::silu", "aten::relu", "aten::threshold", "aten::sigmoid_backward")),
    ("resampling", ("aten::upsample", "aten::max_pool", "aten::_upsample", "aten::avg_pool", "aten::interpolate", "aten::max_pool2d_with_indices")),
    ("optimizer", ("aten::_foreach", "aten::addcdiv", "aten::addcmul", "aten::lerp", "Optimizer.", "aten::linalg_vector_norm", "aten::_fused_adamw")),
    ("copy/layout", ("aten::copy_", "aten::contiguous", "aten::clone", "aten::to", "aten::_to_copy", "aten::empty", "aten::zero_", "aten::fill_", "aten::zeros", "aten::cat", "aten::permute", "aten::reshape", "aten::view", "aten::as_strided")),
    ("element-wise", ("aten::add", "aten::mul", "aten::sum", "aten::div", "aten::sub", "aten::mean", "aten::pow", "aten::neg", "aten::sigmoid", "aten::rsub", "aten::exp", "aten::where")),
)


def category(name: str) -> str:
    for cat, prefixes in CATEGORIES:
        if name.startswith(prefixes):
            return cat
    return "other ops"


def matmul_gflops(threads: int, n: int = 1024, seconds: float = 2.0) -> float:
    """Float32 matmul throughput (GFLOP/s) on `threads` threads: the machine's practical peak."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a, b = torch.randn(n, n), torch.randn(n, n)
        for _ in range(3):
            a @ b
        reps, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            a @ b
            reps += 1
        return 2 * n**3 * reps / (time.perf_counter() - start) / 1e9
    finally:
        torch.set_num_threads(before)


def trial(task: ProxyTask, arch_name: str) -> dict[str, Any]:
    """One full trial: throughput and the shares of its wall time."""
    m = task.run(get_architecture(arch_name)).metrics
    total = m["total_s"]
    return {
        "images_per_s": round(m["images_per_s"], 2),
        "trial_wall_s": round(total, 2),
        "train_s": round(m["train_s"], 2),
        "eval_s": round(m["eval_s"], 2),
        "data_wait_share": round(m["data_wait_s"] / m["train_s"], 4),
        "eval_share": round(m["eval_s"] / total, 4),
        "build_share": round(m["build_s"] / total, 4),
        "train_share": round(m["train_s"] / total, 4),
        "steps": m["steps"],
        "AP": round(m["AP"], 4),
    }


def profile_steps(task: ProxyTask, arch_name: str, steps: int, image_size: int) -> dict[str, Any]:
    """`steps` training steps under the profiler: milliseconds per step by category."""
    arch = get_architecture(arch_name)
    run = task.build(arch, preset_for(arch.name))
    model = run.model
    phases: dict[str, float] = defaultdict(float)

    def timed(name: str, fn: Any) -> Any:
        def wrapper(*a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            with torch.profiler.record_function(name):
                out = fn(*a, **k)
            phases[name] += time.perf_counter() - t
            return out

        return wrapper

    model.loss = timed("loss", model.loss)  # anchor matching, focal and box loss (forward part)
    warm = 5
    task.train_model(run, max_steps=warm)  # warm-up: oneDNN primitives, allocator
    phases.clear()
    conv_by: dict[tuple[int, int], float] = defaultdict(float)
    by_cat: dict[str, float] = defaultdict(float)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], record_shapes=True) as prof:
        t = time.perf_counter()
        stats = task.train_model(run, max_steps=steps)
        wall = time.perf_counter() - t
    for ev in prof.key_averages(group_by_input_shape=True):
        self_s = ev.self_cpu_time_total / 1e6
        if ev.key == "loss":
            continue
        cat = category(ev.key)
        by_cat[cat] += self_s
        if cat == "conv" and ev.input_shapes:
            shape = next((s for s in ev.input_shapes if isinstance(s, list) and len(s) == 4), None)
            if shape:
                level = round(math.log2(image_size / max(shape[2], 1)))
                conv_by[(level, shape[1])] += self_s
    # The loss's own operators (matching, focal) are counted inside the categories above; its wall
    # time is reported on its own line too.
    ops_s = sum(by_cat.values())
    per_step = lambda s: round(1000 * s / steps, 2)  # noqa: E731
    return {
        "steps": steps,
        "step_ms": per_step(wall),
        "images_per_s": round(stats.images / max(stats.train_s, 1e-9), 2),
        "ms_per_step_by_category": {k: per_step(v) for k, v in sorted(by_cat.items(), key=lambda kv: -kv[1])},
        "python_and_framework_ms": per_step(max(0.0, wall - ops_s)),
        "loss_and_matching_wall_ms": per_step(phases["loss"]),
        "conv_ms_by_level_and_width": {f"L{lv} c{c}": per_step(s) for (lv, c), s in sorted(conv_by.items(), key=lambda kv: -kv[1])[:12]},
        "top_ops": [(ev.key, per_step(ev.self_cpu_time_total / 1e6)) for ev in sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)[:15]],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("overrides", nargs="*")
    ap.add_argument("--arch", default="spinenet49")
    ap.add_argument("--profile", type=int, default=0, metavar="N", help="profile N training steps")
    ap.add_argument("--trial", action="store_true", help="with --profile: also run one full trial (evaluation share)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = proxy_config(compose("train", args.overrides).proxy)
    task = ProxyTask(cfg, log=lambda _m: None)
    size = cfg.image_size or 640
    t = time.perf_counter()
    task.prepare(size)
    first_prep = time.perf_counter() - t
    arch = get_architecture(args.arch)
    cost = task.model_cost(arch, preset_for(arch.name))
    out: dict[str, Any] = {
        "proxy": cfg.name,
        "arch": args.arch,
        "overrides": args.overrides,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "image_size": size,
        "batch_size": cfg.batch_size,
        "epochs": cfg.epochs,
        "forward_macs_per_image": cost["flops"],
        "train_gflop_per_image": round(3 * 2 * cost["flops"] / 1e9, 3),
        "first_data_prep_s": round(first_prep, 2),
    }
    if args.profile:
        out["profile"] = profile_steps(task, args.arch, args.profile, size)
    if not args.profile or args.trial:
        out["trial"] = trial(task, args.arch)
    ips = out.get("trial", out.get("profile", {})).get("images_per_s", 0.0)
    achieved = ips * out["train_gflop_per_image"]
    one, mine = matmul_gflops(1), matmul_gflops(torch.get_num_threads())
    out.update(
        train_gflops=round(achieved, 2),
        matmul_gflops_1_thread=round(one, 1),
        matmul_gflops_trial_threads=round(mine, 1),
        fraction_of_peak=round(achieved / mine, 3),
    )
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
