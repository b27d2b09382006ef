"""Training loop: SGD with momentum (or AdamW), linear warm-up then cosine decay, clipping, AMP on CUDA."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import torch
from torch import nn

from proxy_tasks.config import OptimConfig
from proxy_tasks.loader import BatchLoader, normalize
from proxy_tasks.retinanet import RetinaNet
from search_space.errors import SpineNASError


class NonFiniteLossError(SpineNASError, FloatingPointError):
    """The training loss became NaN or infinite; the trial is failed, not retried."""


INITIAL_STEPS = 5  # steps averaged into `TrainStats.initial_loss`
FINAL_STEPS = 20  # steps averaged into `TrainStats.final_cls_loss`


@dataclass
class TrainStats:
    """What a training run measured."""

    steps: int = 0
    images: int = 0
    train_s: float = 0.0
    data_wait_s: float = 0.0
    first_step_s: float = 0.0  # includes one-off costs (allocator warm-up, lazy init)
    final_loss: float = float("nan")
    first_losses: list[float] = field(default_factory=list)  # the first INITIAL_STEPS steps' losses
    last_cls_losses: list[float] = field(default_factory=list)  # the classification loss of the last FINAL_STEPS steps

    @property
    def final_cls_loss(self) -> float:
        """Mean classification (focal) loss of the last steps: against what a constant predictor
        reaches, whether the detector learned more than the background prior (`proxy_tasks.plateau`)."""
        return sum(self.last_cls_losses) / len(self.last_cls_losses) if self.last_cls_losses else float("nan")

    @property
    def initial_loss(self) -> float:
        """Mean loss of the first steps: with `final_loss`, whether training left where it started
        (a detector still on the focal loss's background-only plateau has not)."""
        return sum(self.first_losses) / len(self.first_losses) if self.first_losses else float("nan")

    @property
    def step_s(self) -> float:
        """Seconds per step after the first (the first when there is only one)."""
        if self.steps > 1:
            return (self.train_s - self.first_step_s) / (self.steps - 1)
        return self.first_step_s

    @property
    def images_per_s(self) -> float:
        return self.images / self.train_s if self.train_s > 0 else 0.0

    def count_step(self, images: int, loss: float, seconds: float, cls_loss: float = float("nan")) -> None:
        """One finished step of `images` images that took `seconds` (data wait included)."""
        if self.images == 0:
            self.first_step_s = seconds
        self.images += images
        self.final_loss = loss
        self.last_cls_losses = [*self.last_cls_losses[-(FINAL_STEPS - 1) :], cls_loss]
        if len(self.first_losses) < INITIAL_STEPS:
            self.first_losses.append(loss)
        self.train_s += seconds


@dataclass(frozen=True)
class StepInfo:
    """One finished training step, as `train(..., on_step=...)` hands it over."""

    step: int  # steps done, 1-based
    total: int  # steps of the whole run
    epoch: int  # 1-based
    epochs: int
    loss: float
    lr: float
    images_per_s: float  # since the start of training


def lr_at(step: int, total: int, cfg: OptimConfig) -> float:
    """Linear warm-up from 0 over `warmup_steps`, then cosine decay to 0 at `total`."""
    warm = min(cfg.warmup_steps, max(total - 1, 0))
    if step < warm:
        return cfg.lr * (step + 1) / warm
    progress = (step - warm) / max(1, total - warm)
    return 0.5 * cfg.lr * (1 + math.cos(math.pi * min(1.0, progress)))


def make_optimizer(model: nn.Module, cfg: OptimConfig) -> torch.optim.Optimizer:
    """SGD or AdamW; weight decay on conv/linear weights only, not on biases or norm parameters."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if cfg.optimizer == "adamw":
        # fused: one kernel over all tensors instead of a per-tensor loop; the same update (the
        # rounding differs), faster on the proxy's ~440 small tensors (measured 2026-12-03; that output was not kept)
        return torch.optim.AdamW(groups, lr=cfg.lr, fused=True)
    return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum)


def autocast_dtype(device: torch.device, amp: str) -> torch.dtype | None:
    """The autocast dtype for `amp` ("auto", "bf16", "fp16", "off") on `device`; None for none."""
    if amp not in ("auto", "bf16", "fp16", "off"):
        raise ValueError(f"amp must be auto, bf16, fp16 or off, got {amp!r}")
    if device.type != "cuda" or amp == "off":
        return None
    if amp == "fp16" or (amp == "auto" and not torch.cuda.is_bf16_supported()):
        return torch.float16
    return torch.bfloat16


def autocast(device: torch.device, amp: str) -> torch.autocast:
    """The autocast context for `amp` on `device` (disabled on CPU or with amp=off)."""
    dtype = autocast_dtype(device, amp)
    return torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None)


def train(
    model: RetinaNet,
    loader: BatchLoader,
    *,
    epochs: int,
    cfg: OptimConfig,
    device: torch.device,
    amp: str = "auto",
    channels_last: bool = False,
    log: Callable[[str], None] | None = None,
    log_every_s: float = 30.0,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    max_steps: int | None = None,
    on_step: Callable[[StepInfo], None] | None = None,
) -> TrainStats:
    """Train `model` for `epochs` passes over `loader` (or stop after `max_steps` steps).

    `on_epoch(epoch, {"loss": ...})` is called after each epoch (for schedulers that stop trials
    early), `on_step(StepInfo)` after each step (loss curves, progress bars); a loss that turns NaN
    or infinite raises `NonFiniteLossError`.
    """
    model.train()
    opt = make_optimizer(model, cfg)
    dtype = autocast_dtype(device, amp)
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    total = epochs * len(loader)
    stats = TrainStats()
    last_log, step = time.perf_counter(), 0
    for epoch in range(epochs):
        epoch_loss, epoch_steps = 0.0, 0
        t_wait = time.perf_counter()
        for batch in loader:
            t0 = time.perf_counter()
            stats.data_wait_s += t0 - t_wait
            for group in opt.param_groups:
                group["lr"] = lr_at(step, total, cfg)
            losses = _optimizer_step(model, opt, scaler, batch.to(device), cfg, amp=amp, channels_last=channels_last, size=loader.cache.size)
            value = float(losses["loss"].detach())
            if not math.isfinite(value):
                raise NonFiniteLossError(f"training loss became {value} at step {step} (epoch {epoch + 1})")
            epoch_loss += value
            epoch_steps += 1
            step += 1
            now = time.perf_counter()
            stats.count_step(len(batch.indices), value, now - t_wait, float(losses["cls_loss"]))
            if on_step is not None:
                on_step(StepInfo(step, total, epoch + 1, epochs, value, lr_at(step - 1, total, cfg), stats.images_per_s))
            if log and on_step is None and now - last_log >= log_every_s:  # a caller watching steps shows them
                last_log = now
                log(f"epoch {epoch + 1}/{epochs} step {step}/{total} " + _loss_line(losses, lr_at(step, total, cfg), stats.images_per_s))
            t_wait = time.perf_counter()
            if max_steps is not None and step >= max_steps:
                break
        stats.steps = step
        if max_steps is not None and step >= max_steps:
            break
        if on_epoch is not None:
            on_epoch(epoch + 1, {"loss": epoch_loss / max(1, epoch_steps)})
    return stats


def _loss_line(losses: dict[str, torch.Tensor], lr: float, images_per_s: float) -> str:
    return (
        f"loss {float(losses['loss'].detach()):.4f} (cls {float(losses['cls_loss']):.4f} box {float(losses['box_loss']):.5f}) "
        f"lr {lr:.4g} {images_per_s:.1f} img/s"
    )


def _optimizer_step(model: RetinaNet, opt: torch.optim.Optimizer, scaler: torch.amp.GradScaler, batch: Any, cfg: OptimConfig, *, amp: str, channels_last: bool, size: int) -> dict[str, torch.Tensor]:
    """Forward, loss, backward with gradient clipping, and one optimizer step; returns the losses.
    A non-finite loss is returned before any update (the caller raises)."""
    device = batch.images.device
    with autocast(device, amp):
        cls, box = model(normalize(batch.images, channels_last))
    losses = model.loss(cls, box, batch.targets, size)
    if not torch.isfinite(losses["loss"]):
        return losses
    opt.zero_grad(set_to_none=True)
    scaler.scale(losses["loss"]).backward()
    scaler.unscale_(opt)
    nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
    scaler.step(opt)
    scaler.update()
    return losses


@torch.no_grad()
def recalibrate_batch_norm(
    model: nn.Module, loader: BatchLoader, device: torch.device, num_batches: int, channels_last: bool = False
) -> int:
    """Recompute batch-norm running statistics as exact averages over `num_batches` training batches.

    With the official slow BN momentum (0.99 in TF terms) a short proxy training leaves running
    statistics far from the weights' real activations, and eval-mode AP then measures that lag
    rather than the architecture. Returns the number of batches used.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms or num_batches <= 0:
        return 0
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    was_training = model.training
    model.train()
    used = 0
    try:
        for batch in loader:
            if used >= num_batches:
                break
            model(normalize(batch.to(device).images, channels_last))
            used += 1
    finally:
        for m, mom in zip(norms, saved):
            m.momentum = mom
        model.train(was_training)
    return used
