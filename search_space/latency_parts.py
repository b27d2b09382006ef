"""The modules of the latency table's components, built alone with the inputs they get in a network.

Kept apart from `latency_table` so that a prediction (dictionary lookups) needs no torch.
"""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import nn

from search_space.blocks import BlockGroup, ConvNorm, Resample, make_activation
from search_space.builder import NUM_CLASSES, ResNetFPN, Stem
from search_space.catalog import ModelPreset
from search_space.errors import InputError
from search_space.head import RetinaNetHead
from search_space.spec import OUTPUT_LEVELS, Architecture, level_channels, level_filters


class Merge(nn.Module):
    """A block's input merge: the sum of `n` maps of one shape, then the activation."""

    def __init__(self, n: int, shape: tuple[int, ...], activation: str) -> None:
        super().__init__()
        self.register_buffer("others", torch.randn(n - 1, *shape))
        self.act = make_activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for other in cast(torch.Tensor, self.others):  # a buffer
            x = x + other
        return self.act(x)


class HeadOnLevels(nn.Module):
    """The RetinaNet head on P3..P7 maps (P3 is the input, the others are held)."""

    def __init__(self, head: RetinaNetHead, feats: dict[int, torch.Tensor]) -> None:
        super().__init__()
        self.head = head
        for lv, f in feats.items():
            self.register_buffer(f"p{lv}", f)

    def forward(self, x: torch.Tensor) -> Any:
        return self.head({3: x, **{lv: getattr(self, f"p{lv}") for lv in OUTPUT_LEVELS[1:]}})


def component_module(key: str, arch: Architecture, preset: ModelPreset, setting: Any) -> tuple[nn.Module, torch.Tensor]:
    """The module named by a table key and an input for it, at `setting`'s image size and batch
    (`arch` gives the stem of `stem` and `fpn` keys)."""
    cfg = preset.backbone_config()
    size, batch = setting.image_size, setting.batch
    kind, *parts = key.split("|")

    def maps(channels: int, level: int) -> torch.Tensor:
        return torch.randn(batch, channels, size >> level, size >> level)

    if kind == "stem":
        return Stem(arch, cfg).eval(), torch.randn(batch, 3, size, size)
    if kind == "fpn":
        if arch.decoder != "fpn":
            raise InputError(f"latency table: component {key!r} needs an FPN architecture, got {arch.name}")
        return ResNetFPN(arch, cfg).eval(), torch.randn(batch, 3, size, size)
    if kind == "resample":
        cin, sfn, slv, fn, lv = int(parts[0]), parts[1], int(parts[2]), parts[3], int(parts[4])
        module = Resample(
            cin, in_block_fn=sfn, in_level=slv, target_level=lv, target_filters=level_filters(lv, cfg.filter_size_scale),
            target_block_fn=fn, alpha=cfg.resample_alpha, activation=cfg.activation, norm=cfg.norm,
        )  # fmt: skip
        return module.eval(), maps(cin, slv)
    if kind == "merge":
        lv, channels, n = int(parts[0]), int(parts[1]), int(parts[2])
        x = maps(channels, lv)
        return Merge(n, tuple(x.shape), cfg.activation).eval(), x
    if kind == "block":
        fn, lv = parts[0], int(parts[1])
        cin = level_channels(lv, fn, cfg.filter_size_scale)
        group = BlockGroup(fn, cin, level_filters(lv, cfg.filter_size_scale), cfg.block_repeats, 1, cfg.activation, 0.0, cfg.norm)
        return group.eval(), maps(cin, lv)
    if kind == "endpoint":
        lv, cin = int(parts[0]), int(parts[1])
        return ConvNorm(cin, cfg.endpoints_num_filters, 1, 1, cfg.activation, cfg.norm).eval(), maps(cin, lv)
    if kind == "head":
        head = RetinaNetHead(
            preset.endpoints_num_filters, NUM_CLASSES, num_filters=preset.head_filters, num_convs=preset.head_convs, activation=preset.activation
        )
        feats = {lv: maps(preset.endpoints_num_filters, lv) for lv in OUTPUT_LEVELS[1:]}
        return HeadOnLevels(head, feats).eval(), maps(preset.endpoints_num_filters, OUTPUT_LEVELS[0])
    raise InputError(f"latency table: unknown component {key!r}")

