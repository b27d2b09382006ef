"""Building blocks shared by the SpineNet and ResNet-FPN backbones and the RetinaNet head.

Semantics follow the official TF2 implementation: convs without bias followed by batch norm
(momentum 0.99 and epsilon 1e-3 in TF terms), stochastic depth on the residual branch. Group
norm can stand in for batch norm (`norm="group"`), for proxies trained with tiny batches.
"""

from __future__ import annotations

import torch
from torch import nn

from search_space.catalog import NORMS
from search_space.errors import InputError
from search_space.spec import EXPANSION

BN_MOMENTUM = 0.01  # PyTorch convention; TF's momentum 0.99
BN_EPS = 1e-3
ACTIVATIONS: dict[str, type[nn.Module]] = {"swish": nn.SiLU, "relu": nn.ReLU}


def make_activation(name: str) -> nn.Module:
    """The activation module called `name` (swish or relu)."""
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise InputError(f"unknown activation {name!r}; valid: {', '.join(ACTIVATIONS)}") from None


GROUP_CHANNELS = 8  # channels per group of group norm


def norm_layer(kind: str, channels: int) -> nn.Module:
    """Batch norm with the official momentum and epsilon (`batch`), or group norm (`group`).

    Group norm (Wu & He 2018) uses groups of `GROUP_CHANNELS` channels (one group when the count
    does not divide) and no batch statistics: small CPU proxies use it, where a 1x1 L7 map in a
    batch of 8 leaves batch norm 8 values to estimate its statistics from.
    """
    if kind == "batch":
        return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)
    if kind == "group":
        groups = channels // GROUP_CHANNELS if channels % GROUP_CHANNELS == 0 else 1
        return nn.GroupNorm(max(1, groups), channels, eps=BN_EPS)
    raise InputError(f"unknown norm {kind!r}; valid: {', '.join(NORMS)}")


def variance_scaling_(conv: nn.Conv2d) -> None:
    """The official initialiser (TF VarianceScaling, scale 1, fan-in, truncated normal)."""
    fan_in = conv.in_channels // conv.groups * conv.kernel_size[0] * conv.kernel_size[1]
    std = (1.0 / fan_in) ** 0.5 / 0.87962566103423978  # corrects for the truncation at 2 std
    nn.init.trunc_normal_(conv.weight, std=std, a=-2 * std, b=2 * std)


class ConvNorm(nn.Sequential):
    """Conv (no bias, 'same' padding) -> norm -> optional activation: the one conv helper."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, activation: str | None = None, norm: str = "batch") -> None:
        conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, bias=False)
        if conv.weight.device.type != "meta":
            variance_scaling_(conv)
        layers: list[nn.Module] = [conv, norm_layer(norm, cout)]
        if activation is not None:
            layers.append(make_activation(activation))
        super().__init__(*layers)


class DropConnect(nn.Module):
    """Stochastic depth: drops the whole residual branch of a sample with probability `rate`."""

    def __init__(self, rate: float) -> None:
        super().__init__()
        if not 0.0 <= rate < 1.0:
            raise InputError(f"drop-connect rate must be in [0, 1), got {rate}")
        self.rate = rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0.0:
            return x
        keep = 1.0 - self.rate
        mask = torch.empty((x.shape[0], 1, 1, 1), dtype=x.dtype, device=x.device).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        return f"rate={self.rate:.4f}"


class Block(nn.Module):
    """A bottleneck (1x1, 3x3, 1x1 x4) or residual (3x3, 3x3) block with optional projection."""

    def __init__(
        self,
        block_fn: str,
        cin: int,
        filters: int,
        stride: int,
        use_projection: bool,
        activation: str,
        drop_rate: float = 0.0,
        norm: str = "batch",
    ) -> None:
        super().__init__()
        cout = filters * EXPANSION[block_fn]
        self.shortcut = ConvNorm(cin, cout, 1, stride, norm=norm) if use_projection else nn.Identity()
        if block_fn == "bottleneck":
            self.branch = nn.Sequential(
                ConvNorm(cin, filters, 1, 1, activation, norm),
                ConvNorm(filters, filters, 3, stride, activation, norm),
                ConvNorm(filters, cout, 1, 1, norm=norm),
            )
        else:
            self.branch = nn.Sequential(ConvNorm(cin, filters, 3, stride, activation, norm), ConvNorm(filters, filters, 3, 1, norm=norm))
        self.drop = DropConnect(drop_rate)
        self.act = make_activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.shortcut(x) + self.drop(self.branch(x)))


class BlockGroup(nn.Sequential):
    """`repeats` blocks; only the first may project, and only when its input shape differs."""

    def __init__(
        self,
        block_fn: str,
        cin: int,
        filters: int,
        repeats: int,
        stride: int,
        activation: str,
        drop_rate: float = 0.0,
        norm: str = "batch",
    ) -> None:
        cout = filters * EXPANSION[block_fn]
        first = Block(block_fn, cin, filters, stride, cin != cout or stride != 1, activation, drop_rate, norm)
        rest = [Block(block_fn, cout, filters, 1, False, activation, drop_rate, norm) for _ in range(repeats - 1)]
        super().__init__(first, *rest)
        self.out_channels = cout


class Resample(nn.Module):
    """Official "resample with alpha": 1x1 to alpha x base width, scale change, 1x1 to target width."""

    def __init__(
        self,
        cin: int,
        *,
        in_block_fn: str,
        in_level: int,
        target_level: int,
        target_filters: int,
        target_block_fn: str,
        alpha: float,
        activation: str,
        norm: str = "batch",
    ) -> None:
        super().__init__()
        base = cin / 4 if in_block_fn == "bottleneck" else cin
        width = int(base * alpha)
        if width < 1:
            raise InputError(f"resample width int({base} * {alpha}) is 0; raise alpha or the filter scale")
        layers: list[nn.Module] = [ConvNorm(cin, width, 1, 1, activation, norm)]
        if in_level < target_level:
            layers.append(ConvNorm(width, width, 3, 2, activation, norm))
            layers += [nn.MaxPool2d(3, 2, padding=1) for _ in range(target_level - in_level - 1)]
        elif in_level > target_level:
            layers.append(nn.Upsample(scale_factor=2 ** (in_level - target_level), mode="nearest"))
        layers.append(ConvNorm(width, target_filters * EXPANSION[target_block_fn], 1, 1, norm=norm))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
