"""AP of architectures on a proxy, several seeds each: mean and spread.

Run: .venv/bin/python benchmarks/compare_backbones.py proxy=synthetic --archs spinenet49 resnet50_fpn --seeds 0 1 2
Prints one JSON line per run and a Markdown summary table at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys

from nas.settings.schemas import compose, proxy_config
from proxy_tasks.task import ProxyTask
from search_space.catalog import get_architecture


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("overrides", nargs="*")
    ap.add_argument("--archs", nargs="+", default=["spinenet49", "resnet50_fpn"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    args = ap.parse_args()
    base = proxy_config(compose("train", args.overrides).proxy)
    results: dict[str, list[dict]] = {a: [] for a in args.archs}
    for seed in args.seeds:
        task = ProxyTask(dataclasses.replace(base, seed=seed), log=lambda m: print(m, file=sys.stderr))
        for name in args.archs:
            m = task.run(get_architecture(name)).metrics
            results[name].append(m)
            print(json.dumps({"arch": name, "seed": seed, **{k: m[k] for k in ("AP", "AP50", "APs", "APm", "APl", "params", "flops", "images_per_s", "total_s")}}), flush=True)
    print(f"\n| arch ({base.name}) | AP mean | AP std | AP per seed | AP50 mean | params | FLOPs | img/s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, runs in results.items():
        aps = [r["AP"] for r in runs]
        std = statistics.stdev(aps) if len(aps) > 1 else 0.0
        print(
            f"| {name} | {statistics.mean(aps):.4f} | {std:.4f} | {', '.join(f'{a:.4f}' for a in aps)} | "
            f"{statistics.mean(r['AP50'] for r in runs):.4f} | {runs[0]['params'] / 1e6:.2f}M | {runs[0]['flops'] / 1e9:.2f}B | "
            f"{statistics.mean(r['images_per_s'] for r in runs):.1f} |"
        )


if __name__ == "__main__":
    main()
