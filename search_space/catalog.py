"""Published architectures and their scaling presets (paper, Table 1 and the official code)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from search_space.registry import Registry
from search_space.spec import (
    Architecture,
    BlockSpec,
    SpecError,
    StemGroup,
    blocks_from_tuples,
    load_architecture,
)

SPINENET49_BLOCKS: tuple[BlockSpec, ...] = blocks_from_tuples(
    [
        (2, "bottleneck", (0, 1), False),
        (4, "residual", (0, 1), False),
        (3, "bottleneck", (2, 3), False),
        (4, "bottleneck", (2, 4), False),
        (6, "residual", (3, 5), False),
        (4, "bottleneck", (3, 5), False),
        (5, "residual", (6, 7), False),
        (7, "residual", (6, 8), False),
        (5, "bottleneck", (8, 9), False),
        (5, "bottleneck", (8, 10), False),
        (4, "bottleneck", (5, 10), True),
        (3, "bottleneck", (4, 10), True),
        (5, "bottleneck", (7, 12), True),
        (7, "bottleneck", (5, 14), True),
        (6, "bottleneck", (12, 14), True),
    ]
)

# ResNet-50: {3, 4, 6, 3} bottlenecks at L2..L5 with 64/128/256/512 filters.
RESNET50_STEM: tuple[StemGroup, ...] = (
    StemGroup(2, "bottleneck", 3, 64),
    StemGroup(3, "bottleneck", 4, 128),
    StemGroup(4, "bottleneck", 6, 256),
    StemGroup(5, "bottleneck", 3, 512),
)


NORMS = ("batch", "group")  # batch norm (official) or group norm (`search_space.blocks.norm_layer`)


@dataclass(frozen=True)
class BackboneConfig:
    """Scaling arguments of `build_backbone`, as plain values (models never see a config object)."""

    filter_size_scale: float = 1.0
    resample_alpha: float = 0.5
    block_repeats: int = 1
    endpoints_num_filters: int = 256
    activation: str = "swish"
    drop_connect: float = 0.0
    norm: str = "batch"


@dataclass(frozen=True)
class ModelPreset:
    """How a catalog model is scaled and which detector settings the paper used with it."""

    endpoints_num_filters: int
    filter_size_scale: float
    resample_alpha: float
    block_repeats: int
    image_size: int
    head_filters: int
    head_convs: int
    anchor_size: float
    drop_connect: float = 0.2
    activation: str = "swish"

    def backbone_config(self) -> BackboneConfig:
        """The `build_backbone` arguments this preset stands for."""
        return BackboneConfig(
            self.filter_size_scale,
            self.resample_alpha,
            self.block_repeats,
            self.endpoints_num_filters,
            self.activation,
            self.drop_connect,
        )


PRESETS: Registry[ModelPreset] = Registry("preset")
for _name, _preset in {
    "spinenet49s": ModelPreset(128, 0.65, 0.5, 1, 640, 128, 4, 3.0),
    "spinenet49": ModelPreset(256, 1.0, 0.5, 1, 640, 256, 4, 3.0),
    "spinenet96": ModelPreset(256, 1.0, 0.5, 2, 1024, 256, 4, 3.0),
    "spinenet143": ModelPreset(256, 1.0, 1.0, 3, 1280, 256, 4, 4.0),
    # 143L is not in the paper's tables; head and anchors follow 143 (design choice).
    "spinenet143l": ModelPreset(256, 1.3, 1.0, 3, 1280, 256, 4, 4.0),
    "spinenet190": ModelPreset(512, 1.3, 1.0, 4, 1280, 512, 7, 4.0),
    # The R50-FPN baseline: FPN width 256, the SpineNet-49 detector settings, ReLU as in ResNet.
    "resnet50_fpn": ModelPreset(256, 1.0, 0.5, 1, 640, 256, 4, 3.0, drop_connect=0.0, activation="relu"),
}.items():
    PRESETS.register_value(_name, _preset)

_ARCHITECTURES: Registry[Architecture] = Registry("architecture")
for _name in ("spinenet49s", "spinenet49", "spinenet96", "spinenet143", "spinenet143l", "spinenet190"):
    _ARCHITECTURES.register(
        _name,
        functools.partial(Architecture, _name, SPINENET49_BLOCKS, description="SpineNet-49 permutation (Du et al. 2020)"),
    )
_ARCHITECTURES.register(
    "resnet50_fpn",
    lambda: Architecture(
        "resnet50_fpn", (), RESNET50_STEM, decoder="fpn", description="ResNet-50 C3..C5 + FPN P3..P7 (RetinaNet)"
    ),
)


def get_architecture(name: str) -> Architecture:
    """A catalog architecture by name; unknown names raise `KeyError` listing the valid ones."""
    return _ARCHITECTURES.get(name)


def list_architectures() -> list[str]:
    """Names in the catalog."""
    return _ARCHITECTURES.names()


def get_preset(name: str) -> ModelPreset:
    """The scaling preset of a catalog model; unknown names raise `KeyError` listing the valid ones."""
    return PRESETS.get(name)


def resolve_architecture(ref: str) -> Architecture:
    """A catalog name or the path of a spec file (.yaml, .yml, .json)."""
    if ref in _ARCHITECTURES:
        return _ARCHITECTURES.get(ref)
    if Path(ref).suffix.lower() in (".yaml", ".yml", ".json") or Path(ref).exists():
        return load_architecture(ref)
    raise SpecError(
        f"{ref!r} is neither a catalog architecture ({', '.join(_ARCHITECTURES.names())}) nor a spec file path"
    )


def preset_for(ref: str, default: str = "spinenet49") -> ModelPreset:
    """The scaling preset of catalog entry `ref`, or `default`'s for spec files."""
    return PRESETS.get(preset_name_for(ref, default))


def preset_name_for(ref: str, default: str = "spinenet49") -> str:
    """The name of `ref`'s own preset when it is a catalog model, else `default`."""
    return ref if ref in PRESETS else default
