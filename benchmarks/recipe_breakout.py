"""Which proxy recipe leaves the background-only plateau on small, dense real data (issue 33)?

Each recipe is a set of proxy overrides on top of a base recipe: what `spinenas proxy-design`
derives for the data at --budget-s (default 60) on this machine, its rules and the longest candidate
that fits at the smallest input size (OUT/base.json). For every recipe the script runs
`spinenas fidelity` (the real trial code on a local Ray: fidelity's architectures, i.e. --archs
sampled ones plus SpineNet-49, the R50-FPN seed and the space's coarsest member, times --seeds
seeds, no reference runs) and reads each run's plateau verdict (`proxy_tasks/plateau.py`) from
fidelity.csv. The table: breakout rate (runs off the plateau / runs), architectures off it in every
seed, mean AP and AP50, seed Kendall tau and signal-to-noise (noise-corrected, the raw ratio beside
it; architectures on the plateau in every seed left out, as `spinenas fidelity` does) and the
measured seconds per run.

    python benchmarks/make_crowded_scenes.py /tmp/crowded
    python benchmarks/recipe_breakout.py crowded --out results/breakout-crowded
    python benchmarks/recipe_breakout.py raccoon --out results/breakout-raccoon --recipes base iou43

Resumable: a recipe whose fidelity.json exists is read, not re-run (fidelity itself resumes a
killed recipe run by run). Writes OUT/breakout.csv and OUT/breakout.txt.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from nas.core.ranking import seed_agreement, signal_to_noise, signal_to_noise_corrected
from search_space.fileio import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
RACCOON = ROOT.parent / "shared" / "data" / "raccoon"

DATASETS: dict[str, list[str]] = {
    "crowded": ["proxy=custom", "proxy.data.format=yolo", "proxy.data.root=/tmp/crowded"],
    "raccoon": [
        "proxy=custom", "proxy.data.format=csv", f"proxy.data.train_ann={RACCOON}/data/train_labels.csv",
        f"proxy.data.val_ann={RACCOON}/data/test_labels.csv", f"proxy.data.train_images={RACCOON}/images",
    ],
}  # fmt: skip

COMMON = ["proxy.num_workers=1"]

RECIPES: dict[str, list[str]] = {
    "base": [],
    "short": ["proxy.epochs=2"],  # a third of the steps (76 on the crowded scenes)
    "lr6": ["proxy.optim.lr=0.006"],
    "iou43": ["proxy.loss.positive_iou=0.4", "proxy.loss.negative_iou=0.3"],
    "batch4": ["proxy.batch_size=4"],  # twice the steps in about the same time
    "batch4_lr6": ["proxy.batch_size=4", "proxy.optim.lr=0.006"],
    "ref256": ["proxy.image_size=256", "proxy.epochs=7"],  # what a 4x budget buys at the next size up (266 steps on the crowded scenes)
    "long": ["proxy.epochs=x4"],  # 4x the steps: about the reference training of proxy-design (4x the budget)
    "batchnorm": ["proxy.model.norm=batch"],
    "anchor3": ["proxy.model.anchor_size=3"],
}


def derive_base(data: str, budget_s: float, out: Path) -> list[str]:
    """What `spinenas proxy-design --budget-s` derives for the data on this machine: its rules
    (input size, anchor, batch, group norm, AdamW) and the longest candidate that fits the budget at
    the smallest input size, at the lower learning rate. Kept in OUT/base.json (a resumed benchmark
    trains the same recipe)."""
    path = out / "base.json"
    if path.exists():
        return json.loads(path.read_text())["overrides"]
    from nas.commands.proxy_design import derive_candidates
    from nas.runner.prepare import prepare
    from nas.settings.search import load_settings

    settings = load_settings([*DATASETS[data], *COMMON])
    prepare(settings)
    out.mkdir(parents=True, exist_ok=True)
    cands = derive_candidates(settings, budget_s, out, True, print).candidates
    size = min(c.overrides["image_size"] for c in cands)
    best = max((c for c in cands if c.overrides["image_size"] == size), key=lambda c: (c.steps, -c.overrides["optim.lr"]))
    overrides = [f"proxy.{k}={v}" for k, v in best.overrides.items()]
    atomic_write_text(path, json.dumps({"budget_s": budget_s, "candidate": best.describe(), "steps": best.steps, "est_trial_s": best.est_trial_s, "overrides": overrides}, indent=2) + "\n")
    return overrides


def resolve(base: list[str], recipe: list[str]) -> list[str]:
    """The recipe's overrides, where `key=xN` means N times the base recipe's value of key."""
    values = dict(o.split("=", 1) for o in base)
    out = []
    for o in recipe:
        key, value = o.split("=", 1)
        out.append(f"{key}={int(values[key]) * int(value[1:])}" if value.startswith("x") else o)
    return out


def run_recipe(data: str, name: str, out: Path, archs: int, seeds: int, base: list[str]) -> Path:
    """Run (or resume) `spinenas fidelity` for one recipe; returns its folder."""
    folder = out / name
    if (folder / "fidelity.json").exists() and (folder / "fidelity.csv").exists():
        rows = len(pd.read_csv(folder / "fidelity.csv"))
        if rows >= (archs + 3) * seeds:
            return folder
    cmd = [
        sys.executable, "-m", "nas", "fidelity", "--archs", str(archs), "--seeds", str(seeds), "--reference-epochs", "0",
        *DATASETS[data], *base, *COMMON, *resolve(base, RECIPES[name]), f"out_dir={folder}",
    ]  # fmt: skip
    if (folder / "config.yaml").exists():
        cmd.append("resume=true")
    print(f"== {name}: {' '.join(cmd[3:])}", flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT, env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    return folder


def summarize(data: str, folder: Path, name: str, base: list[str]) -> dict[str, object]:
    """One recipe's row of the table, from its fidelity.csv: seed tau and signal-to-noise as
    `spinenas fidelity` reads them (architectures on the plateau in every seed left out; the
    noise-corrected SNR as `snr`, the raw ratio beside it as `snr_raw`)."""
    runs = pd.read_csv(folder / "fidelity.csv", keep_default_na=False)
    ok = runs[runs["status"] == "ok"]
    off = ok["plateau"].astype(str).str.len() == 0
    by_arch = off.groupby(ok["arch"]).all()
    learns = off.groupby(ok["arch"]).any()  # an architecture on the plateau in every seed learns nothing here: out of every tau
    kept = ok[ok["arch"].map(learns)]
    table = kept.pivot_table(index="arch", columns="run", values="reward", aggfunc="first").to_numpy(dtype=float)
    with_seeds = table.shape[1] >= 2 if table.ndim == 2 else False
    return {
        "data": data,
        "recipe": name,
        "overrides": " ".join(o.removeprefix("proxy.") for o in resolve(base, RECIPES[name])) or "-",
        "seeds": int(runs["run"].nunique()),
        "runs": len(runs),
        "failed": int((runs["status"] != "ok").sum()),
        "off_plateau": int(off.sum()),
        "breakout_rate": round(float(off.mean()), 3) if len(ok) else float("nan"),
        "archs_off_every_seed": f"{int(by_arch.sum())}/{len(by_arch)}",
        "archs_in_tau": int(learns.sum()),
        "mean_AP": round(float(pd.to_numeric(ok["AP"]).mean()), 4),
        "mean_AP50": round(float(pd.to_numeric(ok["AP50"]).mean()), 4),
        "seed_tau": round(seed_agreement(table)["kendall_tau"], 3) if with_seeds else float("nan"),
        "snr": round(signal_to_noise_corrected(table), 2) if with_seeds else float("nan"),
        "snr_raw": round(signal_to_noise(table), 2) if with_seeds else float("nan"),
        "wall_s_per_run": round(float(pd.to_numeric(ok["wall_s"]).mean()), 1),
    }


def write_table(data: str, out: Path, base: list[str]) -> pd.DataFrame:
    """OUT/breakout.csv and .txt from every recipe measured in OUT so far."""
    done = [r for r in RECIPES if (out / r / "fidelity.csv").exists()]
    table = pd.DataFrame([summarize(data, out / r, r, base) for r in done])
    atomic_write_text(out / "breakout.csv", table.to_csv(index=False))
    atomic_write_text(out / "breakout.txt", table.to_string(index=False) + "\n")
    return table


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("data", choices=sorted(DATASETS))
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=sorted(RECIPES))
    p.add_argument("--archs", type=int, default=4, help="sampled architectures (3 anchors are added)")
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--budget-s", type=float, default=60.0, help="the proxy-design budget the base recipe is derived for")
    p.add_argument("--tables-only", action="store_true", help="only rewrite breakout.csv/.txt from the recipes already in OUT")
    a = p.parse_args()
    if a.tables_only:  # re-read the recipes already measured (e.g. after a change to how a number is computed)
        base = json.loads((a.out / "base.json").read_text())["overrides"]
        print(write_table(a.data, a.out, base).to_string(index=False))
        return
    base = derive_base(a.data, a.budget_s, a.out)
    print(f"base recipe: {' '.join(base)}", flush=True)
    for name in a.recipes:
        run_recipe(a.data, name, a.out, a.archs, a.seeds, base)
        print(write_table(a.data, a.out, base).to_string(index=False), flush=True)


if __name__ == "__main__":
    main()
