"""Does a rung's evaluation on part of the validation set rank like the whole? (issue 44)

Successive halving on the built-in proxy falls short of 2x random's sample efficiency because a
rung's evaluation on all 512 validation images costs 0.13 of a trial
(benchmarks/runs/halving-simulation-2026-12-08). This measures what an evaluation on the first
`n` validation images would give instead: for the first `--archs` architectures of a benchmark
table (its planned order: the anchors, then the uniform draws; `--offset` skips some), each is trained with seed 0 to the
first rung (`--rung` of training, with the learning-rate schedule of the whole run, so the model is
the one the table's seed-0 run had there), its detections on every validation image are made once,
and COCO AP (pycocotools) is computed on all of them and on the first `n` of each `--subsets`.
Each evaluation is timed (the forward pass and the matching share by images, pycocotools itself).

Written as it goes to `rows.csv` (a row per architecture; a rerun skips the rows it has), and at the
end `summary.json` / `summary.md`: Kendall tau of each subset's AP against the whole set's at the
rung, and of each against the table's final AP (mean of its seeds), with 95% bootstrap intervals
over architectures; the whole set's AP against the table's AP@rung of the same run (a check that
this is the table's run: equal up to float noise).

Run: .venv/bin/python benchmarks/rung_subset.py --table benchmarks/table-mean-pad --archs 24 --offset 61 --out benchmarks/runs/rung-subset-2026-12-08
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from omegaconf import OmegaConf

from nas.core.ranking import bootstrap_interval, kendall_tau
from nas.reporting.bench_table import read_runs
from nas.settings.schemas import proxy_config
from proxy_tasks.evaluate import coco_metrics, detections_of
from proxy_tasks.task import ProxyTask
from proxy_tasks.train import recalibrate_batch_norm
from search_space import get_preset, load_architecture


def planned_archs(table: Path, count: int, offset: int = 0) -> list[str]:
    """`count` architecture ids of a table in its runs' order, from the `offset`-th."""
    runs = read_runs(table / "runs.csv")
    return list(dict.fromkeys(runs["arch_id"]))[offset : offset + count]


def measure(task: ProxyTask, preset: str, arch_id: str, table: Path, rung: float, subsets: list[int]) -> dict:
    """One architecture: trained to the rung with seed 0, AP on all validation images and on each
    subset, after the batch-norm recalibration a probe does there (none with group norm)."""
    cfg = task.config
    arch = load_architecture(table / "archs" / f"{arch_id}.yaml")
    run = task.build(arch, get_preset(preset))
    steps = max(1, round(rung * len(task.train_loader(run, cfg.seed)) * cfg.epochs))  # as `probe_steps` rounds
    t = time.perf_counter()
    task.train_model(run, max_steps=steps)
    row: dict = {"arch_id": arch_id, "steps": steps, "train_s": time.perf_counter() - t}
    t = time.perf_counter()
    recalibrate_batch_norm(run.model, task.train_loader(run, cfg.seed + 2_000_003 * steps), run.device, cfg.bn_recalibration_batches, cfg.channels_last)
    row["recalibration_s"] = time.perf_counter() - t  # paid whatever the number of images evaluated
    t = time.perf_counter()
    dets = detections_of(run.model, run.val_ds, run.val_cache, batch_size=cfg.batch_size, device=run.device, channels_last=cfg.channels_last, amp=cfg.amp)
    row["forward_s"] = time.perf_counter() - t
    ids = [r.id for r in run.val_ds.images]
    for n in [len(ids), *subsets]:
        keep = set(ids[:n])
        t = time.perf_counter()
        row[f"AP_{n}"] = coco_metrics(run.val_ds.coco, [d for d in dets if d["image_id"] in keep], "pycocotools", ids[:n])["AP"]
        row[f"coco_s_{n}"] = time.perf_counter() - t
    row["val_images"] = len(ids)
    return row


def summarize(rows: pd.DataFrame, table: Path, rung: float, subsets: list[int]) -> dict:
    runs = read_runs(table / "runs.csv")
    ok = runs[runs["status"] == "ok"]
    final = ok.groupby("arch_id")["AP"].mean()
    seed0 = ok[ok["run"] == "seed0"].set_index("arch_id")
    if f"AP@{rung:g}" not in seed0:
        raise SystemExit(f"{table}: no AP@{rung:g} column (a table made with that probe is what this checks against)")
    at_rung = seed0[f"AP@{rung:g}"]
    rows = rows[rows["arch_id"].isin(seed0.index)]
    n_all = int(rows["val_images"].iloc[0])
    full = rows[f"AP_{n_all}"].to_numpy(float)
    fin = final.loc[rows["arch_id"]].to_numpy(float)

    def tau(a: np.ndarray, b: np.ndarray) -> dict:
        low, high = bootstrap_interval(kendall_tau, a, b, seed=0)
        return {"value": kendall_tau(a, b), "low": low, "high": high}

    forward = float(rows["forward_s"].mean())
    fixed = float(rows["recalibration_s"].mean()) if "recalibration_s" in rows else 0.0  # rows written before it was measured: group norm, none
    out = {
        "architectures": len(rows), "val_images": n_all, "rung": rung,
        "check_max_abs_diff_vs_table_AP_at_rung": float(np.max(np.abs(full - at_rung.loc[rows["arch_id"]].to_numpy(float)))),
        "table_machines": sorted(set(seed0.loc[rows["arch_id"], "machine"].astype(str))),
        "whole": {"tau_vs_final": tau(full, fin), "seconds": fixed + forward + float(rows[f"coco_s_{n_all}"].mean())},
        "subsets": {},
    }  # fmt: skip
    for n in subsets:
        sub = rows[f"AP_{n}"].to_numpy(float)
        out["subsets"][n] = {"tau_vs_whole": tau(sub, full), "tau_vs_final": tau(sub, fin),
                             "seconds": fixed + forward * n / n_all + float(rows[f"coco_s_{n}"].mean())}  # fmt: skip
    return out


def markdown(s: dict) -> str:
    def ci(d: dict) -> str:
        return f"{d['value']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]"

    lines = [
        f"{s['architectures']} architectures trained with seed 0 to {s['rung']:g} of training; AP on the first n of "
        f"{s['val_images']} validation images (the same detections). Check: the whole set's AP differs from the "
        f"table's AP@{s['rung']:g} of the same run by at most {s['check_max_abs_diff_vs_table_AP_at_rung']:.2g} "
        f"(the table's runs: {', '.join(s['table_machines'])}).", "",
        "| validation images | seconds per evaluation (forward share + pycocotools) | Kendall tau vs the whole set's AP [95%] | vs the table's final AP [95%] |",
        "|---|---|---|---|",
        f"| {s['val_images']} (all) | {s['whole']['seconds']:.1f} | | {ci(s['whole']['tau_vs_final'])} |",
        *[f"| {n} | {d['seconds']:.1f} | {ci(d['tau_vs_whole'])} | {ci(d['tau_vs_final'])} |" for n, d in s["subsets"].items()],
    ]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", type=Path, default=Path("benchmarks/table-mean-pad"))
    ap.add_argument("--archs", type=int, default=24)
    ap.add_argument("--offset", type=int, default=0, help="skip this many of the table's architectures (in its order)")
    ap.add_argument("--rung", type=float, default=0.25)
    ap.add_argument("--subsets", type=int, nargs="+", default=[64, 128, 256])
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "rows.csv"
    rows = pd.read_csv(path, dtype={"arch_id": str}) if path.exists() else pd.DataFrame()
    done = set(rows["arch_id"]) if len(rows) else set()
    recorded = OmegaConf.load(args.table / "config.yaml")  # the table's own proxy and preset, as it recorded them
    task = ProxyTask(proxy_config(recorded.proxy), log=lambda _m: None)
    for arch_id in planned_archs(args.table, args.archs, args.offset):
        if arch_id in done:
            continue
        row = measure(task, str(recorded.preset), arch_id, args.table, args.rung, args.subsets)
        rows = pd.concat([rows, pd.DataFrame([row])], ignore_index=True)
        rows.to_csv(path.with_suffix(".tmp"), index=False)
        path.with_suffix(".tmp").replace(path)
        whole = row["AP_" + str(row["val_images"])]
        print(f"{arch_id}: AP@{args.rung:g} {whole:.4f} ({row['train_s']:.0f} s training, {row['forward_s']:.1f} s forward)", flush=True)
    summary = summarize(rows, args.table, args.rung, args.subsets)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    text = markdown(summary)
    (args.out / "summary.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
