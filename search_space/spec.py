"""Architectures as data: block specs, validation, YAML/JSON files and a canonical id.

A SpineNet architecture is a fixed stem followed by scale-permuted blocks. Parent offsets index
one list that starts with the stem groups' outputs (the *stem candidates*) followed by the
scale-permuted blocks in order, exactly as in the official implementation.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, cast

import yaml

from search_space.errors import SpineNASError
from search_space.fileio import atomic_write_text

BLOCK_FNS: tuple[str, ...] = ("bottleneck", "residual")
MIN_LEVEL, MAX_LEVEL = 2, 7
OUTPUT_LEVELS: tuple[int, ...] = (3, 4, 5, 6, 7)
DECODERS: tuple[str, ...] = ("spine", "fpn")
# Base filters per level (official FILTER_SIZE_MAP). Bottlenecks output 4x, residual blocks 1x.
FILTER_SIZE_MAP: dict[int, int] = {1: 32, 2: 64, 3: 128, 4: 256, 5: 256, 6: 256, 7: 256}


def level_filters(level: int, filter_size_scale: float = 1.0, base: int | None = None) -> int:
    """Filters of a block group at `level` (or of a stem group that sets its own `base`), scaled as
    the official code does (int truncation). The one place a level's width is worked out."""
    return int((FILTER_SIZE_MAP[level] if base is None else base) * filter_size_scale)


def level_channels(level: int, block_fn: str, filter_size_scale: float = 1.0, base: int | None = None) -> int:
    """Output channels of a `block_fn` group at `level`: its filters times the block's expansion."""
    return level_filters(level, filter_size_scale, base) * EXPANSION[block_fn]
EXPANSION: dict[str, int] = {"bottleneck": 4, "residual": 1}
SPEC_FORMAT = 1


class SpecError(SpineNASError, ValueError):
    """An architecture spec breaks a rule; the message names where and which rule."""


@dataclass(frozen=True)
class StemGroup:
    """A group of `repeats` sequential blocks of one level in the fixed stem.

    Each group's output is a parent candidate. `filters` overrides the per-level filter table
    (the ResNet-50 baseline uses 512 filters at L5, SpineNet uses 256).
    """

    level: int
    block_fn: str = "bottleneck"
    repeats: int = 1
    filters: int | None = None


@dataclass(frozen=True)
class BlockSpec:
    """One scale-permuted block: its level, type, two parent offsets and whether it is an output."""

    level: int
    block_fn: str
    parents: tuple[int, int]
    is_output: bool = False


SPINENET_STEM: tuple[StemGroup, ...] = (StemGroup(2), StemGroup(2))


@dataclass(frozen=True)
class Architecture:
    """A whole backbone: stem groups, scale-permuted blocks, and how outputs are formed.

    `decoder="spine"` is a SpineNet (outputs are the blocks marked `is_output`); `decoder="fpn"`
    is a plain ResNet stem with an FPN on C3..C5 (the paper's R50-FPN baseline) and no blocks.
    """

    name: str
    blocks: tuple[BlockSpec, ...]
    stem: tuple[StemGroup, ...] = SPINENET_STEM
    decoder: str = "spine"
    description: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "blocks", tuple(self.blocks))
        object.__setattr__(self, "stem", tuple(self.stem))
        validate(self)

    @property
    def num_stem(self) -> int:
        """Number of stem candidates (parent offsets below this point the stem)."""
        return len(self.stem)

    @property
    def id(self) -> str:
        """Canonical id: a hash of the structure, independent of name, order of keys and run."""
        return architecture_id(self)

    def node_level(self, index: int) -> int:
        """Level of node `index` in the stem-then-blocks list."""
        return self.stem[index].level if index < self.num_stem else self.blocks[index - self.num_stem].level

    def node_block_fn(self, index: int) -> str:
        """Block type of node `index` in the stem-then-blocks list."""
        if index < self.num_stem:
            return self.stem[index].block_fn
        return self.blocks[index - self.num_stem].block_fn

    def node_width(self, index: int) -> int:
        """Unscaled output channels of node `index` (base filters x expansion)."""
        base = self.stem[index].filters if index < self.num_stem else None
        return level_channels(self.node_level(index), self.node_block_fn(index), base=base)

    def output_folds(self) -> tuple[tuple[int, ...], ...]:
        """Per block, the nodes folded into it (official rule).

        When an output block is built, every earlier node that nothing has consumed yet and whose
        output has the block's input shape (same level and width) is added to its merge.
        """
        outdegree = [0] * (self.num_stem + len(self.blocks))
        folds = []
        for i, b in enumerate(self.blocks):
            node = self.num_stem + i
            for p in b.parents:
                outdegree[p] += 1
            fold: tuple[int, ...] = ()
            if b.is_output:
                width = level_channels(b.level, b.block_fn)
                fold = tuple(
                    j for j in range(node) if outdegree[j] == 0 and self.node_level(j) == b.level and self.node_width(j) == width
                )
                for j in fold:
                    outdegree[j] += 1
            folds.append(fold)
        return tuple(folds)

    def output_levels(self) -> tuple[int, ...]:
        """Levels the backbone returns, ascending."""
        if self.decoder == "fpn":
            return OUTPUT_LEVELS
        return tuple(sorted(b.level for b in self.blocks if b.is_output))

    def with_name(self, name: str) -> "Architecture":
        """A copy under another name (the id does not change)."""
        return Architecture(name, self.blocks, self.stem, self.decoder, self.description)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form used by the YAML and JSON files."""
        d: dict[str, Any] = {"format": SPEC_FORMAT, "name": self.name}
        if self.description:
            d["description"] = self.description
        d["decoder"] = self.decoder
        d["stem"] = [_stem_dict(g) for g in self.stem]
        d["blocks"] = [
            {"level": b.level, "block_fn": b.block_fn, "parents": list(b.parents), "is_output": b.is_output}
            for b in self.blocks
        ]
        return d

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the spec atomically; the format follows the suffix (.yaml/.yml or .json)."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix in (".yaml", ".yml"):
            text = to_yaml(self)
        elif suffix == ".json":
            text = json.dumps(self.to_dict(), indent=2) + "\n"
        else:
            raise SpecError(f"{path}: unknown spec format {suffix!r}; use .yaml, .yml or .json")
        atomic_write_text(path, text)
        return path


def _stem_dict(g: StemGroup) -> dict[str, Any]:
    d: dict[str, Any] = {"level": g.level, "block_fn": g.block_fn, "repeats": g.repeats}
    if g.filters is not None:
        d["filters"] = g.filters
    return d


def validate(arch: Architecture) -> None:
    """Raise `SpecError` naming the block and rule if `arch` is not a buildable architecture."""
    where = f"architecture {arch.name!r}"
    if not isinstance(arch.name, str) or not arch.name:
        raise SpecError(f"{where}: name must be a non-empty string")
    if arch.decoder not in DECODERS:
        raise SpecError(f"{where}: unknown decoder {arch.decoder!r}; valid: {', '.join(DECODERS)}")
    _validate_stem(arch, where)
    if arch.decoder == "fpn":
        if arch.blocks:
            raise SpecError(f"{where}: an fpn architecture has no scale-permuted blocks")
        levels = {g.level for g in arch.stem}
        missing = [lv for lv in (3, 4, 5) if lv not in levels]
        if missing:
            raise SpecError(f"{where}: an fpn stem needs levels 3, 4 and 5 (C3..C5); missing {missing}")
        return
    if not arch.blocks:
        raise SpecError(f"{where}: needs at least 5 scale-permuted blocks (one output per level L3..L7)")
    outputs: dict[int, int] = {}
    for i, b in enumerate(arch.blocks):
        bw = f"{where}, block {i}"
        if not isinstance(b, BlockSpec):
            raise SpecError(f"{bw}: expected a BlockSpec, got {type(b).__name__}")
        _check_int(b.level, bw, "level")
        if not MIN_LEVEL <= b.level <= MAX_LEVEL:
            raise SpecError(f"{bw}: level {b.level} outside {MIN_LEVEL}..{MAX_LEVEL}")
        if b.block_fn not in BLOCK_FNS:
            raise SpecError(f"{bw}: unknown block type {b.block_fn!r}; valid: {', '.join(BLOCK_FNS)}")
        if not isinstance(b.parents, tuple) or len(b.parents) != 2:
            raise SpecError(f"{bw}: needs exactly two parents, got {b.parents!r}")
        for p in b.parents:
            _check_int(p, bw, "parent")
            if not 0 <= p < arch.num_stem + i:
                earlier = f"blocks 0..{i - 1}" if i else "no earlier block"
                raise SpecError(
                    f"{bw}: parent {p} is not an earlier node (valid 0..{arch.num_stem + i - 1}: "
                    f"{arch.num_stem} stem candidates, then {earlier})"
                )
        if b.parents[0] == b.parents[1]:
            raise SpecError(f"{bw}: the two parents must differ, got {b.parents!r}")
        if not isinstance(b.is_output, bool):
            raise SpecError(f"{bw}: is_output must be true or false, got {b.is_output!r}")
        if b.is_output:
            if b.level not in OUTPUT_LEVELS:
                raise SpecError(f"{bw}: output block at level {b.level}; outputs must be L3..L7")
            if b.level in outputs:
                raise SpecError(f"{bw}: second output at level {b.level} (first is block {outputs[b.level]})")
            outputs[b.level] = i
    missing = [lv for lv in OUTPUT_LEVELS if lv not in outputs]
    if missing:
        raise SpecError(f"{where}: needs exactly one output per level L3..L7; no output at {missing}")


def _validate_stem(arch: Architecture, where: str) -> None:
    if not arch.stem:
        raise SpecError(f"{where}: the stem needs at least one group")
    prev = None
    for j, g in enumerate(arch.stem):
        sw = f"{where}, stem group {j}"
        if not isinstance(g, StemGroup):
            raise SpecError(f"{sw}: expected a StemGroup, got {type(g).__name__}")
        _check_int(g.level, sw, "level")
        _check_int(g.repeats, sw, "repeats")
        if g.block_fn not in BLOCK_FNS:
            raise SpecError(f"{sw}: unknown block type {g.block_fn!r}; valid: {', '.join(BLOCK_FNS)}")
        if g.repeats < 1:
            raise SpecError(f"{sw}: repeats must be >= 1, got {g.repeats}")
        if g.filters is not None:
            _check_int(g.filters, sw, "filters")
            if g.filters < 1:
                raise SpecError(f"{sw}: filters must be >= 1, got {g.filters}")
        if prev is None and g.level != 2:
            raise SpecError(f"{sw}: the stem starts at level 2 (after the stride-4 entry), got {g.level}")
        if prev is not None and g.level not in (prev, prev + 1):
            raise SpecError(f"{sw}: stem levels rise by 0 or 1 per group; {prev} -> {g.level}")
        if g.level > 5:
            raise SpecError(f"{sw}: stem level {g.level} outside 2..5")
        prev = g.level


def _check_int(value: Any, where: str, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{where}: {what} must be an integer, got {value!r}")


def architecture_id(arch: Architecture) -> str:
    """Stable 12-hex-digit hash of the structure (stem, blocks, decoder), not of the name."""
    d = arch.to_dict()
    canon = {k: d[k] for k in ("decoder", "stem", "blocks")}
    blob = json.dumps(canon, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


# ---------------------------------------------------------------------------------------------
# Reading and writing


def from_dict(data: Any, source: str = "<dict>") -> Architecture:
    """Build an `Architecture` from plain data, raising `SpecError` that names `source`."""
    if not isinstance(data, Mapping):
        raise SpecError(f"{source}: a spec is a mapping with 'name' and 'blocks', got {type(data).__name__}")
    known = {"format", "name", "description", "decoder", "stem", "blocks"}
    unknown = sorted(set(map(str, data)) - known)
    if unknown:
        raise SpecError(f"{source}: unknown key(s) {unknown}; valid keys: {sorted(known)}")
    fmt = data.get("format", SPEC_FORMAT)
    if fmt != SPEC_FORMAT:
        raise SpecError(f"{source}: spec format {fmt!r} is not supported (this version reads {SPEC_FORMAT})")
    name = data.get("name", Path(source).stem if source != "<dict>" else "")
    stem_data = data.get("stem")
    stem = SPINENET_STEM if stem_data is None else tuple(
        _stem_from(g, f"{source}: stem group {j}") for j, g in enumerate(_as_list(stem_data, source, "stem"))
    )
    blocks = tuple(
        _block_from(b, f"{source}: block {i}") for i, b in enumerate(_as_list(data.get("blocks", []), source, "blocks"))
    )
    try:
        return Architecture(
            name=str(name),
            blocks=blocks,
            stem=stem,
            decoder=data.get("decoder", "spine"),
            description=str(data.get("description", "")),
        )
    except SpecError as e:
        raise SpecError(f"{source}: {e}") from None


def _as_list(value: Any, source: str, key: str) -> list[Any]:
    if not isinstance(value, list):
        raise SpecError(f"{source}: '{key}' must be a list, got {type(value).__name__}")
    return value


def _block_from(b: Any, where: str) -> BlockSpec:
    """A block from a mapping or the compact official tuple form [level, block_fn, [p0, p1], is_output]."""
    if isinstance(b, (list, tuple)):
        if len(b) != 4:
            raise SpecError(f"{where}: the list form is [level, block_fn, [parent0, parent1], is_output]")
        b = dict(zip(("level", "block_fn", "parents", "is_output"), b))
    if not isinstance(b, Mapping):
        raise SpecError(f"{where}: expected a mapping, got {type(b).__name__}")
    _reject_unknown(b, {"level", "block_fn", "parents", "is_output"}, where)
    for key in ("level", "block_fn", "parents"):
        if key not in b:
            raise SpecError(f"{where}: missing key '{key}'")
    parents = b["parents"]
    if not isinstance(parents, (list, tuple)):
        raise SpecError(f"{where}: parents must be a list of two offsets, got {parents!r}")
    return BlockSpec(level=b["level"], block_fn=b["block_fn"], parents=tuple(parents), is_output=b.get("is_output", False))


def _stem_from(g: Any, where: str) -> StemGroup:
    if not isinstance(g, Mapping):
        raise SpecError(f"{where}: expected a mapping, got {type(g).__name__}")
    _reject_unknown(g, {"level", "block_fn", "repeats", "filters"}, where)
    if "level" not in g:
        raise SpecError(f"{where}: missing key 'level'")
    return StemGroup(g["level"], g.get("block_fn", "bottleneck"), g.get("repeats", 1), g.get("filters"))


def _reject_unknown(d: Mapping[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(map(str, d)) - known)
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {unknown}; valid keys: {sorted(known)}")


def to_yaml(arch: Architecture) -> str:
    """YAML text with one block per line, readable and diffable; loads back with `yaml.safe_load`."""
    d = arch.to_dict()
    lines = [f"# SpineNAS architecture spec. id: {arch.id}", f"format: {SPEC_FORMAT}", f"name: {json.dumps(arch.name)}"]
    if arch.description:
        lines.append(f"description: {json.dumps(arch.description)}")
    lines.append(f"decoder: {arch.decoder}")
    lines.append("stem:")
    lines += [f"  - {_flow(g)}" for g in d["stem"]]
    if d["blocks"]:
        lines.append("blocks:  # parents index [stem candidates..., blocks...]")
        lines += [f"  - {_flow(b)}  # {i}" for i, b in enumerate(d["blocks"])]
    else:
        lines.append("blocks: []")
    return "\n".join(lines) + "\n"


def _flow(d: Mapping[str, Any]) -> str:
    parts = []
    for k, v in d.items():
        parts.append(f"{k}: {json.dumps(v)}")
    return "{" + ", ".join(parts) + "}"


def load_architecture(path: str | os.PathLike[str]) -> Architecture:
    """Read a YAML or JSON spec file (safe loaders only); problems raise `SpecError` naming the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"{path}: spec file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(f"{path}: cannot read spec file ({e})") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as e:
        raise SpecError(f"{path}: not valid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SpecError(f"{path}: not valid YAML{at}: {getattr(e, 'problem', None) or e}") from None
    return from_dict(data, source=str(path))


def blocks_from_tuples(rows: Iterable[tuple[int, str, tuple[int, int], bool]]) -> tuple[BlockSpec, ...]:
    """Blocks from the official `(level, block_fn, (parent0, parent1), is_output)` tuples."""
    return tuple(BlockSpec(level, fn, cast(tuple[int, int], tuple(parents)), out) for level, fn, parents, out in rows)  # BlockSpec checks there are two
