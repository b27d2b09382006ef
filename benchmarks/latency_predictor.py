"""How well the latency table predicts measured latency, next to FLOPs and params (issue 20).

Calibrates the table for a space on this machine (components, then the ratio on SpineNet-49 and
`--fit` sampled architectures), then measures `--archs` other sampled architectures whole, in
two passes of `--repeats` each over all of them (the passes' agreement is the noise ceiling of
any predictor; the faster pass's median is taken as the measurement), and prints Kendall tau
against the measurements and the mean absolute percentage error (MAPE) of the table and of FLOPs
scaled by the same kind of ratio.

Run: .venv/bin/python benchmarks/latency_predictor.py [--archs 30] [--threads 2] [--image-size 640] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from scipy import stats

from search_space.catalog import get_architecture, get_preset
from search_space.cost import measure
from search_space.latency import LatencyCache, LatencySetting, calibrate, default_threads, device_name, measure_latency
from search_space.space import get_space


def mape(pred: list[float], true: list[float]) -> float:
    return 100.0 * statistics.fmean(abs(p - t) / t for p, t in zip(pred, true))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default="r0_sp53")
    ap.add_argument("--preset", default="spinenet49")
    ap.add_argument("--archs", type=int, default=30)
    ap.add_argument("--fit", type=int, default=3, help="sampled architectures (besides SpineNet-49) the ratio is measured on")
    ap.add_argument("--threads", type=int, default=default_threads())
    ap.add_argument("--image-size", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per pass (two passes)")
    ap.add_argument("--no-head", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    space, preset = get_space(args.space, block_adjustments=True), get_preset(args.preset)
    setting = LatencySetting(image_size=args.image_size or preset.image_size, threads=args.threads, with_head=not args.no_head, warmup=1, repeats=args.repeats)
    t0 = time.perf_counter()
    fit = [get_architecture("spinenet49")] + [space.sample(10_000 + k) for k in range(args.fit)]
    table, where = calibrate([space.coarsest()], fit, preset, setting, LatencyCache(), progress=print)
    calib_s = time.perf_counter() - t0
    fit_flops = [measure(a, preset, setting.image_size, with_head=setting.with_head).flops for a in fit]
    flops_ratio = statistics.median(c["measured_ms"] / f for c, f in zip(table.calibration, fit_flops))

    archs = [space.sample(k) for k in range(args.archs)]
    t1 = time.perf_counter()
    passes: list[list[float]] = []
    for p in range(2):  # two passes over all architectures: a busy spell hits different ones in each
        passes.append([])
        for k, arch in enumerate(archs):
            passes[p].append(measure_latency(arch, preset, setting, None).timing.median_ms)
            print(f"pass {p + 1}: {k + 1:>2}/{len(archs)} {arch.name}: {passes[p][-1]:.0f} ms", flush=True)
    rows = []
    for k, arch in enumerate(archs):
        t = time.perf_counter()
        predicted = table.predict(arch, preset, setting.with_head)
        predict_us = (time.perf_counter() - t) * 1e6
        cost = measure(arch, preset, setting.image_size, with_head=setting.with_head)
        # Interference only ever adds time: the faster pass's median is the better estimate.
        rows.append({"arch": arch.name, "arch_id": arch.id, "pass1_ms": passes[0][k], "pass2_ms": passes[1][k], "measured_ms": min(passes[0][k], passes[1][k]),
                     "predicted_ms": predicted, "flops": cost.flops, "params": cost.params, "predict_us": predict_us})  # fmt: skip
    measure_s = time.perf_counter() - t1

    measured = [r["measured_ms"] for r in rows]
    tau = lambda xs: float(stats.kendalltau(xs, measured).statistic)  # noqa: E731
    summary = {
        "machine": device_name("cpu"), "date": time.strftime("%Y-%m-%d"), "space": args.space, "preset": args.preset,
        "setting": {k: v for k, v in vars(setting).items()} if hasattr(setting, "__dict__") else None,
        "image_size": setting.image_size, "threads": setting.threads, "with_head": setting.with_head, "archs": len(rows),
        "components": len(table.entries), "calibrate_s": round(calib_s, 1), "measure_s": round(measure_s, 1), "ratio": table.slope,
        "measured_range_ms": [min(measured), max(measured)],
        "tau_table": tau([r["predicted_ms"] for r in rows]), "mape_table": mape([r["predicted_ms"] for r in rows], measured),
        "tau_flops": tau([r["flops"] for r in rows]), "mape_flops": mape([r["flops"] * flops_ratio for r in rows], measured),
        "tau_params": tau([r["params"] for r in rows]),
        "tau_pass1_pass2": float(stats.kendalltau([r["pass1_ms"] for r in rows], [r["pass2_ms"] for r in rows]).statistic),
        "mape_pass1_pass2": mape([r["pass1_ms"] for r in rows], [r["pass2_ms"] for r in rows]),
        "predict_us_median": statistics.median(r["predict_us"] for r in rows),
    }  # fmt: skip
    summary.pop("setting")
    print(json.dumps(summary, indent=1))
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"summary": summary, "rows": rows, "table": str(where)}, f, indent=1)


if __name__ == "__main__":
    main()
