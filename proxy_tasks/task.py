"""The proxy task: train a reduced-size RetinaNet on an architecture briefly and measure COCO AP.

`ProxyTask(config).run(arch)` is what every search trial calls; `spinenas train` calls it too.
This package knows nothing of Ray or the controller.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch

from proxy_tasks.cache import ImageCache, build_cache
from proxy_tasks.config import ProxyConfig
from proxy_tasks.data import CocoDataset
from proxy_tasks.datasets import load_datasets
from proxy_tasks.evaluate import evaluate_model
from proxy_tasks.loader import BatchLoader, target_of
from proxy_tasks.plateau import AnchorPrior, anchor_prior, constant_cls_loss, image_independent_ap50, plateau_reason
from proxy_tasks.retinanet import RetinaNet, build_detector
from proxy_tasks.train import StepInfo, TrainStats, recalibrate_batch_norm, train
from search_space.catalog import ModelPreset, preset_for
from search_space.cost import count_flops, count_params
from search_space.errors import InputError
from search_space.spec import Architecture


_MODEL_COSTS: dict[tuple[str, str, int, int], dict[str, int]] = {}


@dataclass
class ProxyResult:
    """Metrics of one run and the trained model."""

    metrics: dict[str, Any]
    model: RetinaNet


@dataclass
class PreparedRun:
    """One architecture's run between the steps of `ProxyTask.run`: data, device, model, cost."""

    arch: Architecture
    model: RetinaNet
    device: torch.device
    train_ds: CocoDataset
    train_cache: ImageCache
    val_ds: CocoDataset
    val_cache: ImageCache
    cost: dict[str, int]
    timings: dict[str, float]  # data_prep_s, build_s, rung_eval_s, then eval_s and total_s
    loader: BatchLoader | None = None  # the training batches (set by `train_model`)

    def training_loader(self) -> BatchLoader:
        """The training batches, once `train_model` has set them."""
        if self.loader is None:
            raise RuntimeError("this run has not been trained: no training batches yet")
        return self.loader
    probes: dict[str, dict[str, float]] = field(default_factory=dict)  # "@0.25" -> COCO metrics after that fraction


def resolve_device(name: str) -> torch.device:
    """`auto` is CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"proxy.device={name} but CUDA is not available on this machine")
    return torch.device(name)


class ProxyTask:
    """Prepares the data once (validated, cached), then trains and evaluates any architecture."""

    def __init__(self, config: ProxyConfig, log: Callable[[str], None] | None = None) -> None:
        config.validate()
        self.config = config
        self.log = log or (lambda msg: print(f"[proxy {config.label}] {msg}", file=sys.stderr, flush=True))
        self._datasets: tuple[CocoDataset, CocoDataset] | None = None
        self._caches: dict[int, tuple[ImageCache, ImageCache]] = {}
        self._prior: dict[tuple[int, str], AnchorPrior] = {}  # (input size, anchors + loss) -> the training labels' anchor prior
        self._chance: dict[tuple[int, str], float] = {}  # (input size, anchors + loss + inference) -> an image-independent detector's AP50

    def datasets(self) -> tuple[CocoDataset, CocoDataset]:
        """Train and validation datasets, validated (synthetic ones generated on first use)."""
        return load_datasets(self.config.data)

    def variant(self, config: ProxyConfig) -> "ProxyTask":
        """A task for `config` (another seed or length, say) that shares this one's prepared data."""
        task = ProxyTask(config, self.log)
        if config.data == self.config.data and config.num_workers == self.config.num_workers:
            task._datasets, task._caches = self.loaded(), self._caches  # the same dict: caches built by either serve both
            task._prior, task._chance = self._prior, self._chance
        return task

    def loaded(self) -> tuple[CocoDataset, CocoDataset]:
        """Train and validation datasets, read and validated once per task object (no image cache)."""
        if self._datasets is None:
            self._datasets = self.datasets()
            n = self.config.rung_val_images
            if n is not None and sum(len(r.boxes) for r in self._datasets[1].images[:n]) == 0:
                raise InputError(f"proxy.rung_val_images={n}: the first {n} validation images hold no boxes, so a rung's AP would be meaningless; use more images")
        return self._datasets

    def prepare(self, image_size: int) -> tuple[CocoDataset, ImageCache, CocoDataset, ImageCache]:
        """Validate both splits and cache them at `image_size`; each is done once per task object."""
        train_ds, val_ds = self.loaded()
        if image_size not in self._caches:
            cache_dir, workers = self.config.data.cache_path, self.config.num_workers
            self._caches[image_size] = (
                build_cache(train_ds, image_size, cache_dir, workers),
                build_cache(val_ds, image_size, cache_dir, workers),
            )
        train_cache, val_cache = self._caches[image_size]
        return train_ds, train_cache, val_ds, val_cache

    def model_cost(self, arch: Architecture, preset: ModelPreset) -> dict[str, int]:
        """Params and FLOPs of the proxy detector on `arch` (meta device: nothing is allocated).

        Remembered per process by (architecture, detector settings, classes, image size), at about
        0.25 s a model on a CPU: a reused trial worker costs the same architecture again for each
        fidelity seed, `plan` again when it times the architecture it picked, and tests (or a
        notebook) choosing fidelity candidates twice cost the whole pool again."""
        image_size = self.config.image_size or preset.image_size
        train_ds, _ = self.loaded()
        detector = self.config.detector_config(preset)
        key = (arch.id, repr(detector), train_ds.num_classes, image_size)
        if key not in _MODEL_COSTS:
            with torch.device("meta"):
                model = build_detector(arch, train_ds.num_classes, detector).eval()
            _MODEL_COSTS[key] = {"params": count_params(model), "flops": count_flops(model, image_size), "image_size": image_size}
        return dict(_MODEL_COSTS[key])

    def run(
        self,
        arch: Architecture,
        preset: ModelPreset | None = None,
        *,
        on_epoch: Callable[[int, dict[str, float]], None] | None = None,
        eval_at: Sequence[int] = (),
        on_eval: Callable[[int, dict[str, Any]], None] | None = None,
        max_steps: int | None = None,
        on_step: Callable[[StepInfo], None] | None = None,
    ) -> ProxyResult:
        """Train on `arch` and evaluate; metrics hold AP..APl, params, FLOPs, throughput and timings.

        `on_step` gets every training step (loss curves for TensorBoard, progress bars).
        `on_eval(epoch, metrics)` receives the COCO metrics at each epoch of `eval_at` before the
        last (a scheduler's rungs). Those evaluations use their own batches and random state, so the
        final model is the one a run without them produces. `max_steps` ends training early (with
        the learning-rate schedule of the full run), for timing a few steps.
        """
        t_start = time.perf_counter()
        run = self.build(arch, preset or preset_for(arch.name))
        stats = self.train_model(run, on_epoch=on_epoch, eval_at=eval_at, on_eval=on_eval, max_steps=max_steps, on_step=on_step)
        t = time.perf_counter()
        ap = self.evaluate(run, run.training_loader())  # batch norm recalibrated on the training loader's next batches
        run.timings["eval_s"] = time.perf_counter() - t
        run.timings["total_s"] = time.perf_counter() - t_start
        return ProxyResult(self.metrics(run, stats, ap), run.model)

    def build(self, arch: Architecture, preset: ModelPreset) -> PreparedRun:
        """Step 1: data (validated and cached), device, and the seeded detector on it."""
        cfg = self.config
        t = time.perf_counter()
        train_ds, train_cache, val_ds, val_cache = self.prepare(cfg.image_size or preset.image_size)
        prep_s = time.perf_counter() - t
        device = resolve_device(cfg.device)
        limit_gpu_memory(device, cfg.gpu_memory_fraction)
        t = time.perf_counter()
        cost = self.model_cost(arch, preset)
        torch.manual_seed(cfg.seed)
        model = build_detector(arch, train_ds.num_classes, cfg.detector_config(preset)).to(device)
        if cfg.channels_last:
            model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # Module.to takes it; torch's stubs list no such overload
        timings = {"data_prep_s": prep_s, "build_s": time.perf_counter() - t, "rung_eval_s": 0.0, "probe_eval_s": 0.0}
        return PreparedRun(arch, model, device, train_ds, train_cache, val_ds, val_cache, cost, timings)

    def train_loader(self, run: PreparedRun, seed: int) -> BatchLoader:
        """Shuffled, augmented training batches (also what batch norm is recalibrated on)."""
        cfg = self.config
        return BatchLoader(
            run.train_cache, run.train_ds.images, cfg.batch_size, train=True, scale_jitter=(cfg.scale_jitter_min, cfg.scale_jitter_max),
            flip=cfg.flip, seed=seed, pin_memory=run.device.type == "cuda",
        )  # fmt: skip

    def train_model(
        self,
        run: PreparedRun,
        *,
        on_epoch: Callable[[int, dict[str, float]], None] | None = None,
        eval_at: Sequence[int] = (),
        on_eval: Callable[[int, dict[str, Any]], None] | None = None,
        max_steps: int | None = None,
        on_step: Callable[[StepInfo], None] | None = None,
    ) -> TrainStats:
        """Step 2: train, with evaluations at the `eval_at` epochs (rungs) on their own RNG."""
        cfg = self.config

        def after_epoch(epoch: int, stats: dict[str, float]) -> None:
            if on_epoch is not None:
                on_epoch(epoch, stats)
            if on_eval is not None and epoch in eval_at and epoch < cfg.epochs:
                metrics = self.evaluate_midway(run, cfg.seed + 1_000_003 * epoch, "rung_eval_s")
                on_eval(epoch, dict(metrics, **run.cost, epoch=epoch, loss=stats["loss"]))

        run.loader = self.train_loader(run, cfg.seed)
        probes = self.probe_steps(len(run.loader) * cfg.epochs)

        def after_step(info: StepInfo) -> None:
            if on_step is not None:
                on_step(info)
            if info.step in probes:
                run.probes[probes[info.step]] = self.evaluate_midway(run, cfg.seed + 2_000_003 * info.step, "probe_eval_s")

        return train(
            run.model,
            run.loader,
            epochs=cfg.epochs,
            cfg=cfg.optim,
            device=run.device,
            amp=cfg.amp,
            channels_last=cfg.channels_last,
            log=self.log,
            log_every_s=cfg.log_every_s,
            on_epoch=after_epoch,
            max_steps=max_steps,
            on_step=after_step if probes else on_step,
        )

    def evaluate_midway(self, run: PreparedRun, seed: int, timing: str) -> dict[str, float]:
        """An evaluation during training (a rung, a probe) on its own batches (`seed`) and random
        state, so the model trained on is the one a run without it trains; its seconds go to
        `run.timings[timing]`."""
        t = time.perf_counter()
        with torch.random.fork_rng(devices=[run.device] if run.device.type == "cuda" else []):
            metrics = self.evaluate(run, self.train_loader(run, seed), images=self.config.rung_val_images)
        run.model.train()
        run.timings[timing] += time.perf_counter() - t
        return metrics

    def probe_steps(self, total: int) -> dict[int, str]:
        """The training steps after which AP is also measured (`probe_at` fractions of `total`,
        rounded, at least step 1), each with its metric suffix (`@0.25`)."""
        return {max(1, round(f * total)): f"@{f:g}" for f in self.config.probe_at}

    def evaluate(self, run: PreparedRun, bn_loader: BatchLoader, images: int | None = None) -> dict[str, float]:
        """Step 3: batch-norm statistics recomputed on `bn_loader`, then COCO AP on the validation set
        (or its first `images` images)."""
        cfg = self.config
        recalibrate_batch_norm(run.model, bn_loader, run.device, cfg.bn_recalibration_batches, cfg.channels_last)
        return evaluate_model(
            run.model, run.val_ds, run.val_cache, batch_size=cfg.batch_size, device=run.device, channels_last=cfg.channels_last,
            backend=cfg.eval_backend, amp=cfg.amp, images=images,
        )  # fmt: skip

    def anchor_prior(self, run: PreparedRun) -> AnchorPrior:
        """What the training labels say per anchor at this run's input size and anchors, without
        looking at an image (`proxy_tasks.plateau.anchor_prior`): one matching pass per task and
        setting, from which both plateau baselines below are made."""
        key = (run.train_cache.size, repr((run.model.anchor_cfg, run.model.loss_cfg)))
        if key not in self._prior:
            targets = (target_of(rec, float(scale)) for rec, scale in zip(run.train_ds.images, run.train_cache.scales))
            self._prior[key] = anchor_prior(targets, run.train_cache.size, run.model.anchor_cfg, run.model.loss_cfg, run.train_ds.num_classes)
        return self._prior[key]

    def constant_cls_loss(self, run: PreparedRun) -> float:
        """The classification loss of the best constant predictor on the training data at this run's
        input size and anchors (`proxy_tasks.plateau.constant_cls_loss`)."""
        return constant_cls_loss(*self.anchor_prior(run).counts(), run.model.loss_cfg)

    def chance_ap50(self, run: PreparedRun) -> float:
        """The validation AP50 of the best detector that does not look at the image, made from the
        training labels at this run's input size, anchors and post-processing
        (`proxy_tasks.plateau.image_independent_ap50`); computed once per task and setting."""
        model = run.model
        key = (run.train_cache.size, repr((model.anchor_cfg, model.loss_cfg, model.inference_cfg)))
        if key not in self._chance:
            self._chance[key] = float(image_independent_ap50(self.anchor_prior(run), run.val_ds, run.val_cache.scales, run.val_cache.size, model.anchor_cfg, model.inference_cfg))
        return self._chance[key]

    def metrics(self, run: PreparedRun, stats: TrainStats, ap: dict[str, float]) -> dict[str, Any]:
        """Step 4: the result a trial reports: AP..APl, cost, throughput and timings, and whether the
        run left the background-only plateau (`plateau`: the reason when it did not, else "")."""
        cfg = self.config
        constant, chance = self.constant_cls_loss(run), self.chance_ap50(run)
        return {
            **ap,
            "plateau": plateau_reason(ap.get("AP50", math.nan), stats.final_cls_loss, constant, chance),
            "final_cls_loss": stats.final_cls_loss,
            "constant_cls_loss": constant,
            "chance_AP50": chance,
            "arch_id": run.arch.id,
            "arch_name": run.arch.name,
            **run.cost,
            "images_per_s": stats.images_per_s,
            "train_images": stats.images,
            "steps": stats.steps,
            "steps_per_epoch": len(run.training_loader()),
            "step_s": stats.step_s,
            "first_step_s": stats.first_step_s,
            "epochs": cfg.epochs,
            "epoch": cfg.epochs,
            "final_loss": stats.final_loss,
            "initial_loss": stats.initial_loss,
            "data_prep_s": run.timings["data_prep_s"],
            "build_s": run.timings["build_s"],
            "train_s": stats.train_s,
            "data_wait_s": stats.data_wait_s,
            "rung_eval_s": run.timings["rung_eval_s"],
            "probe_eval_s": run.timings["probe_eval_s"],
            **{f"{name}{suffix}": probe[name] for suffix, probe in run.probes.items() for name in ("AP", "AP50")},
            "eval_s": run.timings["eval_s"],
            "total_s": run.timings["total_s"],
            "device": str(run.device),
        }


def limit_gpu_memory(device: torch.device, fraction: float | None) -> None:
    """Cap this process's CUDA caching allocator at `fraction` of the device's memory.

    Several trials sharing one GPU (fractional `trial.gpus`) then fail alone with an out-of-memory
    error when one outgrows its share, instead of starving the others.
    """
    if fraction is None or device.type != "cuda":
        return
    torch.cuda.set_per_process_memory_fraction(fraction, device)
