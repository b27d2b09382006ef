"""`spinenas latency`: time full-size models on this machine, and calibrate the latency table.

`spinenas latency SPEC...` measures each model (warm-up, repeats, median and the 10-90% spread;
cached per architecture, scaling, device name, size, batch, threads, backend and head) and, with
`--predict`, sets the table's prediction beside it. `spinenas latency --calibrate --space NAME`
times the components a space can use and the ratio on a few whole networks, for the search's
latency-aware rewards; `--out FILE` also writes the table where another machine's search can read
it (`latency.table=FILE`).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any, Sequence

from nas.settings.commands import LatencyRequest
from search_space.catalog import ModelPreset, get_architecture, get_preset, preset_for, resolve_architecture
from search_space.errors import InputError
from search_space.latency import LatencyCache, LatencySetting, calibrate, default_threads, measure_latency, table_for
from search_space.space import get_space


def latency_setting(req: LatencyRequest, preset: ModelPreset) -> LatencySetting:
    """How the request's models are timed at `preset` (its size unless --image-size, every CPU unless --threads)."""
    return LatencySetting(
        req.device, req.image_size or preset.image_size, req.batch, req.threads or default_threads(), req.backend, req.with_head,
        req.warmup, req.repeats,
    )  # fmt: skip


def measure_specs(req: LatencyRequest) -> list[dict[str, Any]]:
    """One record per spec: the measurement (and the table's prediction with `predict`)."""
    archs = [(ref, resolve_architecture(ref)) for ref in req.specs]  # every name checked before any timing
    cache = LatencyCache()
    out = []
    for ref, arch in archs:
        preset = get_preset(req.preset) if req.preset else preset_for(ref)
        setting = latency_setting(req, preset)
        record = measure_latency(arch, preset, setting, cache, refresh=req.refresh).to_dict()
        record["preset"] = req.preset or ref if not req.preset and ref in _catalog() else (req.preset or "spinenet49")
        if req.predict:
            record["predicted_ms"] = _predict(arch, preset, setting)
        out.append(record)
    return out


def _catalog() -> set[str]:
    from search_space.catalog import list_architectures

    return set(list_architectures())


def _predict(arch: Any, preset: ModelPreset, setting: LatencySetting) -> float | None:
    """The table's prediction, None when this machine has no calibrated table for the setting or
    it lacks a component of `arch`."""
    table, _ = table_for(preset, setting)
    if not table.calibration or table.missing([arch], preset, setting.with_head):
        return None
    return round(table.predict(arch, preset, setting.with_head), 3)


def run_calibration(space_name: str, req: LatencyRequest, out: Path | None, fit_archs: int = 3) -> dict[str, Any]:
    """Calibrate the table for a space on this machine; copy it to `out` when given."""
    space = get_space(space_name, block_adjustments=True)
    preset = get_preset(req.preset or "spinenet49")
    setting = latency_setting(req, preset)
    fit = [get_architecture("spinenet49"), *(space.sample(10_000 + k) for k in range(fit_archs))]
    table, where = calibrate([space.coarsest()], fit, preset, setting, LatencyCache(), progress=lambda m: print(f"latency: {m}", file=sys.stderr, flush=True))
    if out is not None:
        from search_space.fileio import atomic_path

        with atomic_path(out) as tmp:
            shutil.copyfile(where, tmp)
    return {"table": str(out or where), "components": len(table.entries), "ratio": round(table.slope, 4), "calibration": table.calibration, **table.identity}


def format_table(records: Sequence[dict[str, Any]]) -> str:
    """Records as an aligned text table."""
    predicted = any("predicted_ms" in r for r in records)
    head = f"{'model':<28} {'median ms':>10} {'p10-p90 ms':>17} {'spread':>7}" + (f" {'predicted':>10}" if predicted else "") + "  cached"
    lines = [head]
    for r in records:
        pred = r.get("predicted_ms")
        cell = (f" {pred:>10.1f}" if isinstance(pred, (int, float)) else f" {'-':>10}") if predicted else ""
        lines.append(f"{r['arch']:<28} {r['median_ms']:>10.1f} {r['p10_ms']:>8.1f}-{r['p90_ms']:<8.1f} {r['spread']:>7.1%}{cell}  {'yes' if r['cached'] else 'no'}")
    r = records[0]
    scope = "backbone + RetinaNet head" if r["with_head"] else "backbone"
    lines.append(
        f"\n{scope}, {r['image_size']}x{r['image_size']}, batch {r['batch']}, {r['threads']} threads, {r['backend']} on {r['device']} "
        f"({r['device_name']}); {r['warmup']} warm-up and {_runs(records)} timed runs each"
    )
    return "\n".join(lines)


def _runs(records: Sequence[dict[str, Any]]) -> str:
    """The timed runs behind the records ("10", or "10-20" where a cached one had more)."""
    lo, hi = min(r["repeats"] for r in records), max(r["repeats"] for r in records)
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def run(req: LatencyRequest, calibrate_space: str | None, out: str | None, as_json: bool) -> int:
    """The command: measure (and predict), or calibrate; print a table or JSON."""
    if calibrate_space is not None:
        result = run_calibration(calibrate_space, req, Path(out) if out else None)
        print(json.dumps(result) if as_json else f"latency table for {calibrate_space}: {result['components']} components, ratio {result['ratio']}, written to {result['table']}")
        return 0
    if not req.specs:
        raise InputError("give one or more catalog names or spec files (or --calibrate --space NAME)")
    records = measure_specs(req)
    if as_json:
        for r in records:
            print(json.dumps(r))
    else:
        print(format_table(records))
    return 0
