"""PyTorch backbones from architecture specs: SpineNet (scale-permuted) and ResNet-FPN."""

from __future__ import annotations

from dataclasses import asdict

import torch
import torch.nn.functional as F
from torch import nn

from search_space.blocks import BlockGroup, ConvNorm, Resample, make_activation, norm_layer
from search_space.catalog import BackboneConfig, ModelPreset
from search_space.errors import InputError
from search_space.head import RetinaNetHead
from search_space.spec import OUTPUT_LEVELS, Architecture, level_channels, level_filters

STEM_FILTERS = 64  # the 7x7 entry conv is not scaled (official)
MAX_STRIDE = 2 ** max(OUTPUT_LEVELS)
NUM_CLASSES = 91  # a head's classes when only its size matters (COCO's label space)


class Stem(nn.Module):
    """7x7/2 conv, BN, act, 3x3/2 max-pool, then the stem groups; returns every group's output."""

    def __init__(self, arch: Architecture, cfg: BackboneConfig) -> None:
        super().__init__()
        self.entry = nn.Sequential(ConvNorm(3, STEM_FILTERS, 7, 2, cfg.activation, cfg.norm), nn.MaxPool2d(3, 2, padding=1))
        groups, cin, level = [], STEM_FILTERS, 2
        self.channels: list[int] = []
        for g in arch.stem:
            filters = max(1, level_filters(g.level, cfg.filter_size_scale, base=g.filters))
            stride = 2 if g.level > level else 1
            group = BlockGroup(g.block_fn, cin, filters, g.repeats * cfg.block_repeats, stride, cfg.activation, norm=cfg.norm)
            groups.append(group)
            cin, level = group.out_channels, g.level
            self.channels.append(cin)
        self.groups = nn.ModuleList(groups)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.entry(x)
        outs = []
        for group in self.groups:
            x = group(x)
            outs.append(x)
        return outs


class Backbone(nn.Module):
    """Common interface: forward gives `{level: tensor}`; `out_channels`/`strides` per level."""

    out_channels: dict[int, int]
    strides: dict[int, int]

    def check_input(self, x: torch.Tensor) -> None:
        """Reject inputs the level-7 resampling cannot tile exactly (not while tracing for export,
        where the check would be frozen into the graph as a constant)."""
        if torch.jit.is_tracing():
            return
        if x.dim() != 4 or x.shape[1] != 3:
            raise InputError(f"expected an (N, 3, H, W) image batch, got shape {tuple(x.shape)}")
        h, w = x.shape[-2:]
        if h % MAX_STRIDE or w % MAX_STRIDE:
            raise InputError(f"input size {h}x{w} must be divisible by {MAX_STRIDE} (the L7 stride)")


class SpineNet(Backbone):
    """A scale-permuted backbone built exactly as the official implementation builds it."""

    def __init__(self, arch: Architecture, cfg: BackboneConfig) -> None:
        super().__init__()
        if arch.decoder != "spine":
            raise ValueError(f"SpineNet needs a 'spine' architecture, {arch.name!r} is {arch.decoder!r}")
        self.arch = arch
        self.stem = Stem(arch, cfg)
        channels = list(self.stem.channels)
        n = len(arch.blocks)
        self.resample0, self.resample1, self.groups = nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        self.folds = arch.output_folds()
        for i, b in enumerate(arch.blocks):
            filters = level_filters(b.level, cfg.filter_size_scale)
            in_channels = level_channels(b.level, b.block_fn, cfg.filter_size_scale)
            for p, resamples in zip(b.parents, (self.resample0, self.resample1)):
                resamples.append(
                    Resample(
                        channels[p],
                        in_block_fn=arch.node_block_fn(p),
                        in_level=arch.node_level(p),
                        target_level=b.level,
                        target_filters=filters,
                        target_block_fn=b.block_fn,
                        alpha=cfg.resample_alpha,
                        activation=cfg.activation,
                        norm=cfg.norm,
                    )
                )
            rate = cfg.drop_connect * (i + 1) / n
            group = BlockGroup(b.block_fn, in_channels, filters, cfg.block_repeats, 1, cfg.activation, rate, cfg.norm)
            self.groups.append(group)
            channels.append(group.out_channels)
        self.merge_act = make_activation(cfg.activation)
        self.output_index = {b.level: arch.num_stem + i for i, b in enumerate(arch.blocks) if b.is_output}
        self.endpoints = nn.ModuleDict(
            {
                str(lv): ConvNorm(channels[j], cfg.endpoints_num_filters, 1, 1, cfg.activation, cfg.norm)
                for lv, j in sorted(self.output_index.items())
            }
        )
        self.out_channels = {lv: cfg.endpoints_num_filters for lv in sorted(self.output_index)}
        self.strides = {lv: 2**lv for lv in sorted(self.output_index)}

    def forward(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        self.check_input(x)
        nodes = self.stem(x)
        for i, b in enumerate(self.arch.blocks):
            merged = self.resample0[i](nodes[b.parents[0]]) + self.resample1[i](nodes[b.parents[1]])
            for j in self.folds[i]:
                merged = merged + nodes[j]
            nodes.append(self.groups[i](self.merge_act(merged)))
        return {lv: self.endpoints[str(lv)](nodes[j]) for lv, j in sorted(self.output_index.items())}


class ResNetFPN(Backbone):
    """ResNet stem C3..C5 with an FPN: 1x1 laterals, nearest top-down, 3x3 outputs, P6/P7 convs."""

    def __init__(self, arch: Architecture, cfg: BackboneConfig) -> None:
        super().__init__()
        if arch.decoder != "fpn":
            raise ValueError(f"ResNetFPN needs an 'fpn' architecture, {arch.name!r} is {arch.decoder!r}")
        self.arch = arch
        self.stem = Stem(arch, cfg)
        # C_l is the last stem group of level l.
        self.c_index = {g.level: j for j, g in enumerate(arch.stem) if g.level in (3, 4, 5)}
        width = cfg.endpoints_num_filters
        self.lateral = nn.ModuleDict({str(lv): nn.Conv2d(self.stem.channels[j], width, 1) for lv, j in self.c_index.items()})
        self.output = nn.ModuleDict({str(lv): nn.Conv2d(width, width, 3, padding=1) for lv in self.c_index})
        self.p6 = nn.Conv2d(width, width, 3, stride=2, padding=1)
        self.p7 = nn.Conv2d(width, width, 3, stride=2, padding=1)
        self.p7_act = make_activation(cfg.activation)
        self.out_channels = {lv: width for lv in OUTPUT_LEVELS}
        self.strides = {lv: 2**lv for lv in OUTPUT_LEVELS}

    def forward(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        self.check_input(x)
        nodes = self.stem(x)
        top = None
        feats: dict[int, torch.Tensor] = {}
        for lv in (5, 4, 3):
            lat = self.lateral[str(lv)](nodes[self.c_index[lv]])
            top = lat if top is None else lat + F.interpolate(top, scale_factor=2, mode="nearest")
            feats[lv] = self.output[str(lv)](top)
        feats[6] = self.p6(feats[5])
        feats[7] = self.p7(self.p7_act(feats[6]))
        return {lv: feats[lv] for lv in OUTPUT_LEVELS}


def build_backbone(
    arch: Architecture,
    filter_size_scale: float = 1.0,
    resample_alpha: float = 0.5,
    block_repeats: int = 1,
    endpoints_num_filters: int = 256,
    activation: str = "swish",
    drop_connect: float = 0.0,
    norm: str = "batch",
) -> Backbone:
    """Build the backbone of `arch`; forward maps an (N, 3, H, W) batch to `{level: features}`.

    Args:
        arch: the architecture (a catalog entry, a loaded spec, or a decoded search sample).
        filter_size_scale: multiplies every block's filters (0.25 in the paper's proxy task).
        resample_alpha: width factor of the cross-scale resampling convs.
        block_repeats: blocks per block group (1 for SpineNet-49, 2 for 96, ...).
        endpoints_num_filters: channels of every output level (FPN width for `fpn` decoders).
        activation: "swish" (official) or "relu".
        drop_connect: initial stochastic-depth rate; block i uses rate * (i + 1) / n.
        norm: "batch" (official) or "group" (for proxies trained with tiny batches).
    """
    cfg = BackboneConfig(filter_size_scale, resample_alpha, block_repeats, endpoints_num_filters, activation, drop_connect, norm)
    if block_repeats < 1:
        raise InputError(f"block_repeats must be >= 1, got {block_repeats}")
    if filter_size_scale <= 0 or resample_alpha <= 0:
        raise InputError("filter_size_scale and resample_alpha must be positive")
    make_activation(activation)  # fail early on an unknown name
    norm_layer(norm, 8)
    return SpineNet(arch, cfg) if arch.decoder == "spine" else ResNetFPN(arch, cfg)


class Network(nn.Module):
    """The backbone, followed by the RetinaNet head when given (a detector's network before box
    decoding and NMS), with its outputs as one flat tuple, so that it traces and exports as it runs.
    What `spinenas show` counts and `spinenas latency` times."""

    def __init__(self, backbone: Backbone, head: nn.Module | None = None) -> None:
        super().__init__()
        self.backbone, self.head = backbone, head

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        feats = self.backbone(x)
        if self.head is None:
            return tuple(feats.values())
        cls, box = self.head(feats)
        return (*cls.values(), *box.values())


def build_network(arch: Architecture, preset: ModelPreset, with_head: bool = False, num_classes: int = NUM_CLASSES) -> Network:
    """The full-size backbone of `arch` scaled by `preset`, with its RetinaNet head when `with_head`."""
    head = None
    if with_head:
        head = RetinaNetHead(
            preset.endpoints_num_filters, num_classes, num_filters=preset.head_filters, num_convs=preset.head_convs, activation=preset.activation
        )
    return Network(build_backbone(arch, **asdict(preset.backbone_config())), head)
