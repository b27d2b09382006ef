"""Parameter and FLOP counts (multiply-adds) of backbones and detectors.

FLOPs are counted as the paper reports them: multiply-adds of every convolution and linear layer
for one image, before NMS. Batch norm, activations, pooling, up-sampling and the merges' additions
are not counted (together they are well under 1% of the conv work). The model is built and run on
PyTorch's meta device, so no memory is allocated and no arithmetic is done: counting SpineNet-190
at 1280x1280 takes about a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from search_space.builder import build_network
from search_space.catalog import ModelPreset
from search_space.spec import Architecture


@dataclass(frozen=True)
class Cost:
    """Parameters and multiply-adds of a model for one image of `image_size` pixels square."""

    params: int
    flops: int
    image_size: int


def count_params(module: nn.Module) -> int:
    """Trainable and frozen parameters (batch-norm running statistics are buffers, not counted)."""
    return sum(p.numel() for p in module.parameters())


def conv_macs(layer: nn.Conv2d | nn.Linear, output: torch.Tensor) -> int:
    """Multiply-adds of one conv/linear call for one sample, from its output shape."""
    if isinstance(layer, nn.Conv2d):
        per_output = (layer.in_channels // layer.groups) * layer.kernel_size[0] * layer.kernel_size[1]
    else:
        per_output = layer.in_features
    return int(output[0].numel()) * per_output


NORM_LAYERS = (nn.GroupNorm, nn.modules.batchnorm._BatchNorm)  # shape-keeping, no multiply-adds


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def count_flops(module: nn.Module, image_size: int, forward: Callable[[nn.Module, torch.Tensor], Any] | None = None) -> int:
    """Multiply-adds of `module` on one `image_size` x `image_size` RGB image.

    `forward(module, x)` runs the model when its forward needs more than `module(x)`. Runs on the
    device the module is on; use the meta device to count without computing.
    """
    total = 0

    def hook(layer: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        nonlocal total
        total += conv_macs(layer, output)  # type: ignore[arg-type]

    handles = [m.register_forward_hook(hook) for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    # Norm layers keep the shape and count nothing; skipping them is most of the time on the meta
    # device, where group norm runs as a Python reference (0.9 of 1.0 s for a proxy detector).
    norms = [m for m in module.modules() if isinstance(m, NORM_LAYERS)]
    for m in norms:
        m.forward = _identity  # type: ignore[method-assign, assignment]
    device = next(module.parameters()).device
    try:
        x = torch.empty((1, 3, image_size, image_size), device=device)
        with torch.no_grad():
            (forward or (lambda m, t: m(t)))(module, x)
    finally:
        for h in handles:
            h.remove()
        for m in norms:
            del m.forward
    return total



def measure(
    arch: Architecture,
    preset: ModelPreset,
    image_size: int | None = None,
    with_head: bool = False,
    num_classes: int = 91,
) -> Cost:
    """Params and FLOPs of `arch` scaled by `preset`, optionally with its RetinaNet head."""
    size = image_size or preset.image_size
    with torch.device("meta"):
        model = build_network(arch, preset, with_head, num_classes).eval()
    return Cost(params=count_params(model), flops=count_flops(model, size), image_size=size)
