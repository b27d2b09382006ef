"""A latency predictor cheap enough for every proposal: a per-component lookup table.

A SpineNet's forward pass is a fixed sequence of modules whose shapes follow from the
architecture alone: the stem; per block, two resampling paths (from the parent's level, type and
width to the block's), the merge (a sum of two or more maps and the activation) and the block
group; a 1x1 endpoint conv per output level; the RetinaNet head. `calibrate` times each distinct
module once on this machine (at the full-size scaling, image size, batch and threads of a
`LatencySetting`), and a prediction is the sum of an architecture's components, mapped to
whole-network time by one ratio measured on a few whole networks timed the same way (the sum of
separately timed parts misses what happens between them: allocation, dispatch, caches).
The table is kept on disk per (device name, scaling, setting, torch version); a prediction is a
few dictionary lookups.
"""

from __future__ import annotations

import hashlib
import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from search_space.catalog import ModelPreset
from search_space.errors import InputError
from search_space.fileio import atomic_write_text, cache_dir
from search_space.spec import BLOCK_FNS, MAX_LEVEL, MIN_LEVEL, OUTPUT_LEVELS, Architecture, level_channels, level_filters

TABLE_FORMAT = 1
FPN_KEY = "fpn"


def node_channels(arch: Architecture, preset: ModelPreset) -> list[int]:
    """Output channels of every node (stem groups, then blocks) at `preset`'s filter scale, as the
    builder works them out."""
    scale = preset.filter_size_scale
    out = [level_channels(g.level, g.block_fn, scale, base=g.filters) if level_filters(g.level, scale, base=g.filters) >= 1 else 1 for g in arch.stem]
    out += [level_channels(b.level, b.block_fn, scale) for b in arch.blocks]
    return out


def component_keys(arch: Architecture, preset: ModelPreset, with_head: bool) -> list[str]:
    """The modules a forward pass of `arch` runs, each named by what its time depends on; a key
    repeats as often as the module runs."""
    if arch.decoder != "spine":
        return [f"{FPN_KEY}|{_stem_key(arch)}"] + (["head"] if with_head else [])
    channels = node_channels(arch, preset)
    keys = [f"stem|{_stem_key(arch)}"]
    folds = arch.output_folds()
    for i, b in enumerate(arch.blocks):
        for p in b.parents:
            keys.append(f"resample|{channels[p]}|{arch.node_block_fn(p)}|{arch.node_level(p)}|{b.block_fn}|{b.level}")
        keys.append(f"merge|{b.level}|{level_channels(b.level, b.block_fn, preset.filter_size_scale)}|{2 + len(folds[i])}")
        keys.append(f"block|{b.block_fn}|{b.level}")
    for b_index, b in enumerate(arch.blocks):
        if b.is_output:
            keys.append(f"endpoint|{b.level}|{channels[arch.num_stem + b_index]}")
    if with_head:
        keys.append("head")
    return keys


def _stem_key(arch: Architecture) -> str:
    return ",".join(f"{g.level}{g.block_fn[0]}{g.repeats}" + (f"x{g.filters}" if g.filters else "") for g in arch.stem)


@dataclass
class LatencyTable:
    """Component times (ms) for one (device, scaling, setting), and the scale (and offset, 0 when
    calibrated here) from their sum to whole-network time."""

    identity: dict[str, Any]
    entries: dict[str, float] = field(default_factory=dict)
    slope: float = 1.0
    intercept: float = 0.0
    calibration: list[dict[str, Any]] = field(default_factory=list)  # whole networks: arch, measured, sum

    def missing(self, archs: Iterable[Architecture], preset: ModelPreset, with_head: bool) -> list[str]:
        """Component keys of `archs` that are not timed yet, each once."""
        seen: dict[str, None] = {}
        for arch in archs:
            for key in component_keys(arch, preset, with_head):
                if key not in self.entries:
                    seen[key] = None
        return list(seen)

    def component_sum(self, arch: Architecture, preset: ModelPreset, with_head: bool) -> float:
        """The sum of `arch`'s component times (ms); `InputError` names a component not in the table."""
        total = 0.0
        for key in component_keys(arch, preset, with_head):
            try:
                total += self.entries[key]
            except KeyError:
                raise InputError(
                    f"latency table: no time for component {key!r} of {arch.name}; calibrate for this space "
                    "(spinenas latency --calibrate --space NAME)"
                ) from None
        return total

    def predict(self, arch: Architecture, preset: ModelPreset, with_head: bool) -> float:
        """Predicted whole-network latency of `arch` in ms."""
        return self.slope * self.component_sum(arch, preset, with_head) + self.intercept

    def fit(self, measured: Sequence[tuple[Architecture, float]], preset: ModelPreset, with_head: bool) -> None:
        """Scale component sums to measured whole-network times: the median of measured / sum over
        the calibration networks (a ratio, not a fitted line: a handful of networks whose times lie
        within ~20% of each other, each timed to a few percent, leave a line's slope to the noise)."""
        sums = [self.component_sum(a, preset, with_head) for a, _ in measured]
        self.slope, self.intercept = statistics.median(t / s for (_, t), s in zip(measured, sums)), 0.0
        self.calibration = [{"arch": a.name, "arch_id": a.id, "measured_ms": t, "sum_ms": s} for (a, t), s in zip(measured, sums)]

    def to_json(self) -> str:
        return json.dumps(
            {"format": TABLE_FORMAT, "identity": self.identity, "slope": self.slope, "intercept": self.intercept,
             "calibration": self.calibration, "entries": self.entries}, indent=1, sort_keys=True,
        )  # fmt: skip

    @classmethod
    def read(cls, path: str | Path) -> "LatencyTable":
        """A table file; a broken one is refused naming the file and what is wrong."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise InputError(f"{path}: no such latency table") from None
        except (OSError, ValueError) as e:
            raise InputError(f"{path}: not a readable latency table ({' '.join(str(e).split())[:160]})") from None
        if not isinstance(data, dict) or data.get("format") != TABLE_FORMAT:
            raise InputError(f"{path}: not a latency table of format {TABLE_FORMAT} (write one with spinenas latency --calibrate --space NAME --out FILE)")
        entries = data.get("entries")
        if not isinstance(entries, dict) or not all(isinstance(v, (int, float)) and v >= 0 for v in entries.values()):
            raise InputError(f"{path}: 'entries' must map component names to times in ms >= 0")
        for key in ("slope", "intercept"):
            if not isinstance(data.get(key), (int, float)):
                raise InputError(f"{path}: '{key}' must be a number")
        return cls(dict(data.get("identity") or {}), {k: float(v) for k, v in entries.items()}, float(data["slope"]), float(data["intercept"]), list(data.get("calibration") or []))


def table_identity(preset: ModelPreset, setting: Any, device_name: str, torch_version: str) -> dict[str, Any]:
    """What a table's times depend on (the same as a whole-network measurement, less the architecture)."""
    where = {k: v for k, v in asdict(setting).items() if k not in ("warmup", "repeats")}
    return {"preset": asdict(preset), "device_name": device_name, "torch": torch_version, **where}


def table_path(identity: dict[str, Any], root: Path | None = None) -> Path:
    """Where the table for `identity` is kept: `<cache>/latency/table-<hash>.json`."""
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:20]
    return (root or cache_dir() / "latency") / f"table-{digest}.json"


def save_table(table: LatencyTable, path: Path) -> None:
    atomic_write_text(path, table.to_json())


def all_block_kinds() -> list[tuple[str, int]]:
    """Every (type, level) a scale-permuted block can have."""
    return [(fn, lv) for fn in BLOCK_FNS for lv in range(MIN_LEVEL, MAX_LEVEL + 1)]


def space_keys(stem_arch: Architecture, preset: ModelPreset, with_head: bool, max_inputs: int = 4) -> list[str]:
    """Every component a space with `stem_arch`'s stem can use: each stem node and block kind
    resampled to each block kind, every block group, merges of 2..`max_inputs` maps, endpoints
    from every kind at every output level, the stem and the head."""
    scale = preset.filter_size_scale
    sources = [(c, g.block_fn, g.level) for c, g in zip(node_channels(stem_arch, preset), stem_arch.stem)]
    sources += [(level_channels(lv, fn, scale), fn, lv) for fn, lv in all_block_kinds()]
    keys = [f"stem|{_stem_key(stem_arch)}"]
    for fn, lv in all_block_kinds():
        keys += [f"resample|{c}|{sfn}|{slv}|{fn}|{lv}" for c, sfn, slv in dict.fromkeys(sources)]
        keys += [f"merge|{lv}|{level_channels(lv, fn, scale)}|{n}" for n in range(2, max_inputs + 1)]
        keys.append(f"block|{fn}|{lv}")
        if lv in OUTPUT_LEVELS:
            keys.append(f"endpoint|{lv}|{level_channels(lv, fn, scale)}")
    if with_head:
        keys.append("head")
    return list(dict.fromkeys(keys))
