"""Zero-cost scores: how promising a detector looks at initialisation, from one batch of real data.

Each score is one function `score(model, probe) -> float` registered under its name with
`@zero_cost("name")`; higher is meant to be better for every one of them (params and FLOPs are
registered too, as the baselines a score must beat). The scores follow their papers, adapted to a
RetinaNet whose backbone is the architecture under test:

- `synflow` (Tanaka et al. 2020): the absolute weights, normalisation layers removed (as the
  zero-cost literature computes it: a norm undoes the product over layers that synflow measures), an
  all-ones input, R = the sum of every output; the score is sum |theta * dR/dtheta| over conv and linear weights. It is computed in
  float64 and reported as log10 (the sum is a product over the network's depth and overflows float32
  on deep nets); a sum that overflows even float64 is +inf.
- `naswot` (Mellor et al. 2021): the binary code of every activation unit (pre-activation > 0) for
  each image; K[i, j] = units where images i and j agree, plus where they disagree with the other
  code flipped; the score is log|det K|.
- `grad_norm`: the L2 norm of the detection loss's gradient over every weight.
- `snip` (Lee et al. 2019): sum |theta * dL/dtheta| over conv and linear weights, L the detection loss.
- `zen` (Lin et al. 2021): log of the mean over images of sum |f(x) - f(x + 0.01 eps)| over the
  backbone's output features (every level) for Gaussian x and eps, the network in training mode.
  Zen-NAS adds the log of every batch-norm layer's batch std; with group norm (the built-in proxy)
  there is no such term, and with batch norm we add it as the paper does.
- `params`, `flops` (log10 of each): the baselines.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, cast

import torch
from torch import nn

from proxy_tasks.loader import Batch, normalize
from proxy_tasks.retinanet import RetinaNet
from search_space.catalog import ModelPreset
from search_space.cost import count_params
from search_space.spec import Architecture

if TYPE_CHECKING:
    from proxy_tasks.task import ProxyTask

ZERO_COST: dict[str, Callable[["nn.Module", "Probe"], float]] = {}
WEIGHTED = (nn.Conv2d, nn.Linear)
NORMS = (nn.BatchNorm2d, nn.GroupNorm)


@dataclass
class Probe:
    """What a score may look at: one batch of the proxy's real training data (images as the model
    takes them, and targets), its input size, the model's FLOPs, and a seed for random inputs."""

    batch: Batch
    image_size: int
    flops: int
    seed: int = 0
    channels_last: bool = False

    @property
    def inputs(self) -> torch.Tensor:
        return normalize(self.batch.images, self.channels_last)


def zero_cost(name: str) -> Callable[[Callable[[nn.Module, Probe], float]], Callable[[nn.Module, Probe], float]]:
    """Register a score under `name` (a new score is this decorator on one function)."""

    def register(fn: Callable[[nn.Module, Probe], float]) -> Callable[[nn.Module, Probe], float]:
        if name in ZERO_COST:
            raise ValueError(f"zero-cost score {name!r} is registered twice")
        ZERO_COST[name] = fn
        return fn

    return register


def compute_scores(build: Callable[[], RetinaNet], probe: Probe, names: list[str] | None = None) -> dict[str, dict[str, float]]:
    """Every registered score (or `names`) of a freshly built model each (a score may change the
    weights or their gradients): {name: {"value": ..., "ms": ...}}."""
    names = list(ZERO_COST) if names is None else names
    unknown = [n for n in names if n not in ZERO_COST]
    if unknown:
        raise ValueError(f"unknown zero-cost score {', '.join(unknown)} (known: {', '.join(ZERO_COST)})")
    out: dict[str, dict[str, float]] = {}
    for name in names:
        model = build()
        t = time.perf_counter()
        value = float(ZERO_COST[name](model, probe))
        out[name] = {"value": value, "ms": 1000 * (time.perf_counter() - t)}
    return out


def _weights(model: nn.Module) -> list[torch.Tensor]:
    return [m.weight for m in model.modules() if isinstance(m, WEIGHTED)]


def _loss(model: nn.Module, probe: Probe) -> torch.Tensor:
    if not isinstance(model, RetinaNet):
        raise TypeError(f"this score needs a detector's loss; got a {type(model).__name__}")
    model.train()
    cls, box = model(probe.inputs)
    return model.loss(cls, box, probe.batch.targets, probe.image_size)["loss"]


@zero_cost("params")
def log_params(model: nn.Module, probe: Probe) -> float:
    return math.log10(count_params(model))


@zero_cost("flops")
def log_flops(model: nn.Module, probe: Probe) -> float:
    return math.log10(probe.flops)


def _without_norms(model: nn.Module) -> nn.Module:
    """`model` with every batch or group norm replaced by the identity (in place)."""
    for name, child in model.named_children():
        if isinstance(child, NORMS):
            setattr(model, name, nn.Identity())
        else:
            _without_norms(child)
    return model


@zero_cost("synflow")
def synflow(model: nn.Module, probe: Probe) -> float:
    model = _without_norms(model).double().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.abs_()
    x = torch.ones((1, *probe.inputs.shape[1:]), dtype=torch.float64)
    cls, box = model(x)
    (cls.sum() + box.sum()).backward()
    with torch.no_grad():
        total = sum(float((w * w.grad).abs().sum()) for w in _weights(model) if w.grad is not None)
    return math.log10(total) if total > 0 and math.isfinite(total) else (math.inf if total > 0 else -math.inf)


@zero_cost("snip")
def snip(model: nn.Module, probe: Probe) -> float:
    _loss(model, probe).backward()
    with torch.no_grad():
        return float(sum((w * w.grad).abs().sum() for w in _weights(model) if w.grad is not None))


@zero_cost("grad_norm")
def grad_norm(model: nn.Module, probe: Probe) -> float:
    _loss(model, probe).backward()
    grads = [p.grad.flatten() for p in model.parameters() if p.grad is not None]
    return float(torch.linalg.vector_norm(torch.cat(grads)))


@zero_cost("naswot")
def naswot(model: nn.Module, probe: Probe) -> float:
    codes: list[torch.Tensor] = []

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        codes.append((inputs[0].detach() > 0).flatten(1).float())

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.SiLU, nn.ReLU))]
    model.eval()
    try:
        with torch.no_grad():
            model(probe.inputs)
    finally:
        for h in handles:
            h.remove()
    c = torch.cat(codes, dim=1).double()
    kernel = c @ c.T + (1 - c) @ (1 - c).T  # units where two images' codes agree
    return float(torch.linalg.slogdet(kernel).logabsdet)


@zero_cost("zen")
def zen(model: nn.Module, probe: Probe) -> float:
    backbone = model.backbone if isinstance(model, RetinaNet) else model
    g = torch.Generator().manual_seed(probe.seed)
    shape = probe.inputs.shape
    x = torch.randn(shape, generator=g)
    eps = torch.randn(shape, generator=g)
    bn_stds: list[torch.Tensor] = []

    def hook(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        bn_stds.append(inputs[0].detach().var(dim=(0, 2, 3)).mean().add(cast(float, module.eps)).sqrt())

    backbone.train()
    with torch.no_grad():
        a = backbone(x)
        handles = [m.register_forward_hook(hook) for m in backbone.modules() if isinstance(m, nn.BatchNorm2d)]
        try:
            b = backbone(x + 0.01 * eps)
        finally:
            for h in handles:
                h.remove()
    diff = sum(float((a[k] - b[k]).abs().sum()) for k in a) / shape[0]
    return math.log(diff + 1e-30) + sum(math.log(float(s)) for s in bn_stds)


def score_architecture(task: "ProxyTask", arch: Architecture, preset: ModelPreset, names: list[str] | None = None, seed: int = 0) -> dict[str, dict[str, float]]:
    """The zero-cost scores of `arch` as `task` would train it: the detector initialised with
    `seed` as a trial initialises it, one training batch of the task's data (seeded)."""
    import copy

    cfg = task.config
    task.config = dataclasses.replace(cfg, seed=seed, device="cpu")
    try:
        run = task.build(arch, preset)
    finally:
        task.config = cfg
    batch = next(iter(task.train_loader(run, seed)))
    probe = Probe(batch, run.train_cache.size, int(run.cost["flops"]), seed)
    model = run.model.float()
    return compute_scores(lambda: copy.deepcopy(model), probe, names)
