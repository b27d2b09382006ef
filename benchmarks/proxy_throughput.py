"""Proxy-training throughput and where the wall time of one trial goes.

Run: .venv/bin/python benchmarks/proxy_throughput.py proxy=synthetic_tiny [more Hydra overrides]
Prints one JSON object: images/s while training, and the shares of the trial's wall time spent
waiting on data, evaluating, building the model and preparing data (the last is near 0 once the
image cache exists; the first run of a dataset also pays for generating and caching it).
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch

from nas.settings.schemas import compose, proxy_config
from proxy_tasks.task import ProxyTask
from search_space.catalog import get_architecture


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("overrides", nargs="*")
    ap.add_argument("--arch", default="spinenet49")
    args = ap.parse_args()
    cfg = proxy_config(compose("train", args.overrides).proxy)
    task = ProxyTask(cfg)
    t = time.perf_counter()
    task.prepare(cfg.image_size or 640)
    first_prep = time.perf_counter() - t
    m = task.run(get_architecture(args.arch)).metrics
    total = m["total_s"]
    print(
        json.dumps(
            {
                "proxy": cfg.name,
                "arch": args.arch,
                "device": m["device"],
                "torch_threads": torch.get_num_threads(),
                "cpu": platform.processor() or platform.machine(),
                "image_size": m["image_size"],
                "batch_size": cfg.batch_size,
                "epochs": cfg.epochs,
                "images_per_s": round(m["images_per_s"], 2),
                "trial_wall_s": round(total, 2),
                "data_wait_share": round(m["data_wait_s"] / m["train_s"], 4),
                "eval_share": round(m["eval_s"] / total, 4),
                "build_share": round(m["build_s"] / total, 4),
                "train_share": round(m["train_s"] / total, 4),
                "first_data_prep_s": round(first_prep, 2),
                "AP": round(m["AP"], 4),
            }
        )
    )


if __name__ == "__main__":
    main()
