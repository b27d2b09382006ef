"""The RetinaNet head: class and box subnets shared across levels, a norm layer per level."""

from __future__ import annotations

import functools
import math
from typing import Sequence, cast

import torch
from torch import nn

from search_space.blocks import make_activation, norm_layer
from search_space.errors import InputError
from search_space.spec import OUTPUT_LEVELS


class Subnet(nn.Module):
    """`num_convs` shared 3x3 convs with a norm layer per level, then a shared predictor conv.

    As the official RetinaNet head: the tower convs carry a bias (zero-initialised) and start from
    normal std 0.01; the predictor starts from normal std 1e-5 and its bias from `bias_init`.
    """

    def __init__(
        self,
        in_channels: int,
        *,
        num_filters: int,
        num_convs: int,
        out_channels: int,
        levels: Sequence[int],
        activation: str,
        bias_init: float,
        norm: str = "batch",
    ) -> None:
        super().__init__()
        self.levels = tuple(levels)
        chans = [in_channels] + [num_filters] * num_convs
        convs = [nn.Conv2d(chans[k], chans[k + 1], 3, padding=1) for k in range(num_convs)]
        self.convs = nn.ModuleList(convs)
        self.norms = nn.ModuleDict(
            {str(lv): nn.ModuleList(norm_layer(norm, num_filters) for _ in range(num_convs)) for lv in self.levels}
        )
        self.act = make_activation(activation)
        self.predict = nn.Conv2d(chans[-1], out_channels, 3, padding=1)
        if self.predict.weight.device.type == "meta":  # a model built to be costed: no values to set
            return  # (normal_ on meta runs as a Python reference: ~12 ms a call, 0.1 s a head)
        for conv in convs:
            assert conv.bias is not None  # made with a bias
            nn.init.normal_(conv.weight, std=0.01)
            nn.init.zeros_(conv.bias)
        assert self.predict.bias is not None
        nn.init.normal_(self.predict.weight, std=1e-5)
        nn.init.constant_(self.predict.bias, bias_init)

    def forward(self, x: torch.Tensor, level: int) -> torch.Tensor:
        norms = cast(nn.ModuleList, self.norms[str(level)])
        for conv, norm in zip(self.convs, norms):
            x = self.act(norm(conv(x)))
        return self.predict(x)


class RetinaNetHead(nn.Module):
    """Class and box predictions per level: `(N, A*K, H, W)` logits and `(N, A*4, H, W)` offsets."""

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        *,
        num_filters: int = 256,
        num_convs: int = 4,
        num_anchors: int = 9,
        levels: Sequence[int] = OUTPUT_LEVELS,
        activation: str = "swish",
        prior_prob: float = 0.01,
        norm: str = "batch",
    ) -> None:
        super().__init__()
        if num_classes < 1:
            raise InputError(f"num_classes must be >= 1, got {num_classes}")
        self.num_classes, self.num_anchors = num_classes, num_anchors
        prior_bias = -math.log((1 - prior_prob) / prior_prob)
        tower = functools.partial(Subnet, in_channels, num_filters=num_filters, num_convs=num_convs, levels=levels, activation=activation, norm=norm)
        self.cls = tower(out_channels=num_anchors * num_classes, bias_init=prior_bias)
        self.box = tower(out_channels=num_anchors * 4, bias_init=0.0)

    def forward(self, feats: dict[int, torch.Tensor]) -> tuple[dict[int, torch.Tensor], dict[int, torch.Tensor]]:
        cls = {lv: self.cls(f, lv) for lv, f in feats.items()}
        box = {lv: self.box(f, lv) for lv, f in feats.items()}
        return cls, box
