"""How many proxy trainings fit one GPU, and what packing them gains in throughput.

Run on a GPU machine (one visible GPU):
    .venv/bin/python benchmarks/gpu_packing.py --packs 1 2 4 8 12 16
For each k, k processes train SpineNet-49's paper-sized proxy (512 px, batch 64, filters x0.25,
alpha 0.25, 64-filter heads; the `coco` proxy's settings on the built-in `demo` images resized to
512) at the same time on the one GPU, each capped at 1/k of its memory exactly as a search with
trial.gpus=1/k caps it. Prints one JSON line per k: aggregate training images/s, its gain over
k=1, each process's peak reserved memory, and how many of the k failed (out of memory) and why.

Flags: --steps (timed steps per process, after --warmup), --device (cpu runs the same code for a
check of the script, with --image-size 128), any further Hydra overrides of the proxy.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import time

import torch

from nas.settings.schemas import compose, proxy_config
from proxy_tasks.task import ProxyTask
from search_space.catalog import get_architecture


def worker(overrides: list[str], share: float, steps: int, warmup: int, start: mp.Event, out: mp.Queue) -> None:
    """Train `warmup` + `steps` steps under a memory cap of `share`; report images/s and peak memory."""
    try:
        cfg = proxy_config(compose("train", overrides).proxy)
        cfg.gpu_memory_fraction = share if cfg.device.startswith("cuda") else None
        task = ProxyTask(cfg, log=lambda _m: None)
        task.prepare(cfg.image_size or 512)  # cache built before the timed part
    except Exception as e:  # noqa: BLE001 - reported, never a hang of the parent
        start.wait()
        out.put({"ok": False, "error": f"{type(e).__name__}: {e}"})
        return
    start.wait()
    try:
        t = time.perf_counter()
        m = task.run(get_architecture("spinenet49"), max_steps=warmup + steps).metrics
        peak = torch.cuda.max_memory_reserved() / 2**30 if torch.cuda.is_available() else 0.0
        timed_s = m["step_s"] * (m["steps"] - 1)
        out.put({"ok": True, "images_per_s": cfg.batch_size / m["step_s"], "peak_reserved_gib": peak, "timed_s": timed_s, "wall_s": time.perf_counter() - t})
    except Exception as e:  # noqa: BLE001 - out of memory above all
        out.put({"ok": False, "error": f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"})


def run_pack(k: int, overrides: list[str], steps: int, warmup: int) -> dict:
    ctx = mp.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=worker, args=(overrides, 1.0 / k, steps, warmup, start, out)) for _ in range(k)]
    for p in procs:
        p.start()
    time.sleep(2.0)
    start.set()
    results = [out.get(timeout=3600) for _ in procs]
    for p in procs:
        p.join()
    ok = [r for r in results if r["ok"]]
    return {
        "k": k,
        "images_per_s": sum(r["images_per_s"] for r in ok),
        "peak_reserved_gib_max": max((r["peak_reserved_gib"] for r in ok), default=0.0),
        "failed": len(results) - len(ok),
        "errors": sorted({r["error"] for r in results if not r["ok"]}),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("overrides", nargs="*")
    ap.add_argument("--packs", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--image-size", type=int, default=512)
    args = ap.parse_args()
    overrides = [
        "proxy=synthetic",
        "proxy.data.synthetic=demo",
        f"proxy.image_size={args.image_size}",
        "proxy.batch_size=64",
        "proxy.optim.lr=0.07",
        "proxy.num_workers=4",
        f"++proxy.device={args.device}",
        "++proxy.bn_recalibration_batches=1",
        "++proxy.data.max_val_images=8",
        *args.overrides,
    ]
    device = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else platform.processor() or "cpu"
    base = None
    for k in args.packs:
        row = run_pack(k, overrides, args.steps, args.warmup)
        base = base or row["images_per_s"]
        row.update(gain_over_1=row["images_per_s"] / base if base else 0.0, device=device, date=time.strftime("%Y-%m-%d"))
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
