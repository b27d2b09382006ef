"""Why does a proxy run on BCCD leave the class prior in some seeds and not in others?

One run per call: an architecture, a seed and recipe overrides on top of the BCCD reference recipe
that proxy-design derives (128 px, batch 8, group norm, AdamW 0.003, anchor 2). It records the loss
curve (cls and box every step), what the head sees at initialisation (P3-P7 feature scales, the
class logits), and evaluates the final model at the recipe's score threshold and without one, so a
run that ranks boxes but scores them all under 0.05 is told from one that learned nothing.

    python benchmarks/bccd_lottery.py --arch spinenet49 --seed 1 --out benchmarks/runs/bccd-lottery/x.json \
        --set optim.lr=0.003 epochs=62
    python benchmarks/bccd_lottery.py --table benchmarks/runs/bccd-lottery-2026-12-07

Results: benchmarks/runs/bccd-lottery-2026-12-07/ (README there).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

import torch

from nas.settings.schemas import compose, proxy_config
from proxy_tasks.evaluate import evaluate_model
from proxy_tasks.task import ProxyTask
from proxy_tasks.train import recalibrate_batch_norm
from search_space.catalog import preset_for, resolve_architecture

BCCD = os.environ.get("BCCD", str(Path(__file__).resolve().parents[2] / "shared" / "data" / "bccd"))
RECIPE = [
    "proxy=custom", "proxy.data.format=voc", f"proxy.data.root={BCCD}", "proxy.image_size=128", "proxy.batch_size=8",
    "proxy.model.norm=group", "proxy.model.anchor_size=2", "proxy.optim.optimizer=adamw", "proxy.optim.lr=0.003",
    "proxy.optim.warmup_steps=30", "proxy.epochs=62", "proxy.num_workers=1",
]  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--table", metavar="DIR", help="print the runs of DIR (*.json) as a table, grouped by experiment, and exit")
    p.add_argument("--arch", default="spinenet49")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out")
    p.add_argument("--set", nargs="*", default=[], help="proxy keys (without proxy.) on top of the recipe")
    p.add_argument("--probe", type=int, nargs="*", default=[], help="also evaluate after these steps")
    a = p.parse_args()
    if a.table:
        print(table(Path(a.table)))
        return
    torch.set_num_threads(1)
    overrides = RECIPE + [f"proxy.seed={a.seed}"] + [f"proxy.{s}" for s in a.set]
    cfg = proxy_config(compose("train", overrides).proxy)
    task = ProxyTask(cfg, log=lambda m: None)
    arch = design_architecture(a.arch, overrides) if a.arch.startswith("sample") or a.arch.endswith("coarsest") else resolve_architecture(a.arch)
    run = task.build(arch, preset_for(arch.name))
    init = head_at_init(task, run)
    curve: list[list[float]] = []
    probes: dict[int, dict[str, float]] = {}

    def on_step(info: Any) -> None:
        curve.append([info.step, round(info.loss, 5)])
        if info.step in a.probe:
            probes[info.step] = task.evaluate_midway(run, cfg.seed + 7 * info.step, "probe_eval_s")

    t0 = time.perf_counter()
    stats = task.train_model(run, on_step=on_step)
    train_s = time.perf_counter() - t0
    recalibrate_batch_norm(run.model, run.loader, run.device, cfg.bn_recalibration_batches, cfg.channels_last)
    ap = evaluate_model(run.model, run.val_ds, run.val_cache, batch_size=8, device=run.device, channels_last=cfg.channels_last)
    run.model.inference_cfg = dataclasses.replace(run.model.inference_cfg, score_threshold=0.0)
    ap0 = evaluate_model(run.model, run.val_ds, run.val_cache, batch_size=8, device=run.device, channels_last=cfg.channels_last)
    out = {
        "arch": a.arch, "seed": a.seed, "set": a.set, "train_s": train_s, "steps": stats.steps,
        "AP": ap["AP"], "AP50": ap["AP50"], "AP_thr0": ap0["AP"], "AP50_thr0": ap0["AP50"],
        "final_cls_loss": stats.final_cls_loss, "constant_cls_loss": task.constant_cls_loss(run),
        "init": init, "probes": probes, "curve": curve[::5] + [curve[-1]],
    }  # fmt: skip
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1) + "\n")
    print(f"{a.arch} seed {a.seed} {a.set}: AP {ap['AP']:.4f} AP50 {ap['AP50']:.4f} | thr0 AP {ap0['AP']:.4f} AP50 {ap0['AP50']:.4f} | cls {stats.final_cls_loss:.3f} / {out['constant_cls_loss']:.3f} | {train_s:.0f}s")


def table(folder: Path) -> str:
    """One line per run (experiment = the file name before the architecture), and per experiment
    how many runs left the prior (AP50 over 1.5x the image-independent detector's 0.029 on BCCD's
    validation split at 128 px, anchor 2: `proxy_tasks.plateau`)."""
    import pandas as pd

    rows = []
    for path in sorted(folder.glob("*.json")):
        d = json.loads(path.read_text())
        experiment = path.stem[: path.stem.index(d["arch"]) - 1] if d["arch"] in path.stem else path.stem
        probes = " ".join(f"@{k} {v['AP50']:.3f}" for k, v in sorted(d["probes"].items(), key=lambda kv: int(kv[0])))
        rows.append({"experiment": experiment, "arch": d["arch"], "seed": d["seed"], "steps": d["steps"], "AP": d["AP"], "AP50": d["AP50"],
                     "AP50 probes": probes, "cls/const": d["final_cls_loss"] / d["constant_cls_loss"], "learned": d["AP50"] > 1.5 * CHANCE_AP50})  # fmt: skip
    runs = pd.DataFrame(rows)
    lines = [runs.to_string(index=False, float_format=lambda v: f"{v:.3f}"), ""]
    for name, g in runs.groupby("experiment", sort=False):
        lines.append(f"{name}: {int(g['learned'].sum())}/{len(g)} runs learned, mean AP {g['AP'].mean():.3f}")
    return "\n".join(lines)


CHANCE_AP50 = 0.029  # BCCD validation, 128 px, anchor 2 (proxy_tasks.plateau.image_independent_ap50)


def design_architecture(name: str, overrides: list[str], n: int = 4) -> Any:
    """`sample00`.., `r0_sp53-coarsest`: the architectures `spinenas proxy-design` (default --archs 4) trains."""
    from nas.runner.candidates import choose_candidates
    from nas.settings.search import load_settings

    chosen = {c.name: c.arch for c in choose_candidates(load_settings(overrides), n)}
    return chosen[name].with_name(name)


@torch.no_grad()
def head_at_init(task: ProxyTask, run: Any) -> dict[str, Any]:
    """Per output level: the backbone feature's std and the class logits' mean/std on one batch."""
    loader = task.train_loader(run, 12345)
    batch = next(iter(loader)).to(run.device)
    from proxy_tasks.loader import normalize

    x = normalize(batch.images, task.config.channels_last)
    feats = run.model.backbone(x)
    cls, _ = run.model.head(feats)
    return {
        str(lv): {"feat_std": float(feats[lv].std()), "logit_mean": float(cls[lv].mean()), "logit_std": float(cls[lv].std())}
        for lv in sorted(feats)
    }


if __name__ == "__main__":
    main()
