"""The settings of a proxy (or full) training as plain dataclasses: the recipe (`ProxyConfig`),
the detector's scaling, anchors, loss, post-processing and optimiser. Nothing here imports torch,
so a config can be composed and checked (`spinenas search trials=abc`) before any model code loads;
the modules that use these settings (`retinanet`, `train`, `task`) import them from here."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from proxy_tasks.datasets import DataConfig
from search_space.catalog import NORMS, BackboneConfig, ModelPreset
from search_space.spec import OUTPUT_LEVELS

BACKENDS: tuple[str, ...] = ("pycocotools", "faster_coco_eval")  # COCO evaluators (`proxy_tasks.evaluate`)


@dataclass(frozen=True)
class AnchorConfig:
    """Anchors per location: `num_scales` octave scales x `aspect_ratios`, base size anchor_size x stride."""

    anchor_size: float = 3.0
    num_scales: int = 3
    aspect_ratios: tuple[float, ...] = (0.5, 1.0, 2.0)
    levels: tuple[int, ...] = OUTPUT_LEVELS

    @property
    def num_anchors(self) -> int:
        return self.num_scales * len(self.aspect_ratios)


@dataclass
class LossConfig:
    """Focal loss and Huber box loss as in the official configs."""

    focal_alpha: float = 0.25
    focal_gamma: float = 1.5
    huber_delta: float = 0.1
    box_loss_weight: float = 50.0
    positive_iou: float = 0.5
    negative_iou: float = 0.4


@dataclass
class InferenceConfig:
    """Post-processing: score threshold, per-level top-k, class-wise NMS, detections per image."""

    score_threshold: float = 0.05
    topk_per_level: int = 1000
    nms_iou: float = 0.5
    max_detections: int = 100


@dataclass(frozen=True)
class DetectorConfig:
    """Everything that shapes a detector: backbone scaling, head, anchors, loss, inference."""

    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    head_filters: int = 256
    head_convs: int = 4
    anchors: AnchorConfig = field(default_factory=AnchorConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    inference: InferenceConfig = field(default_factory=InferenceConfig)


OPTIMIZERS = ("sgd", "adamw")


@dataclass
class OptimConfig:
    """Optimiser and schedule; `lr` is for the configured batch size.

    `sgd` is the official recipe (momentum, L2 weight decay); `adamw` (decoupled weight decay,
    betas 0.9/0.999) reaches a usable detector in far fewer steps, which short CPU proxies need.
    """

    lr: float = 0.08
    momentum: float = 0.9
    weight_decay: float = 4e-5
    warmup_steps: int = 100
    grad_clip: float = 10.0
    optimizer: str = "sgd"

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")


@dataclass
class ModelScaling:
    """How the trained detector is scaled (`proxy.model.*`). The defaults are the paper's proxy
    (section 5.1: feature dimensions x0.25, resample alpha 0.25, 64-filter heads); a field set to
    None follows the model's preset (the full-size values, `conf/proxy/full.yaml`)."""

    filter_size_scale: float | None = 0.25
    resample_alpha: float | None = 0.25
    block_repeats: int | None = 1
    endpoints_filters: int | None = None  # None: the head's width
    head_filters: int | None = 64
    head_convs: int | None = 4
    anchor_size: float | None = 3.0
    activation: str | None = "swish"
    drop_connect: float | None = 0.0
    norm: str = "batch"  # batch (official) or group (for tiny batches: no batch statistics)

    @classmethod
    def of_preset(cls) -> ModelScaling:
        """Every scaling field from the preset: the full-size model."""
        return cls(**{f.name: None for f in dataclasses.fields(cls) if f.name != "norm"})  # type: ignore[arg-type]  # every such field takes None

    def detector_config(self, preset: ModelPreset, *, loss: LossConfig, inference: InferenceConfig) -> DetectorConfig:
        """Backbone and head settings; fields left None come from `preset`."""

        def pick(value: Any, default: Any) -> Any:
            return default if value is None else value

        head_filters = pick(self.head_filters, preset.head_filters)
        backbone = BackboneConfig(
            filter_size_scale=pick(self.filter_size_scale, preset.filter_size_scale),
            resample_alpha=pick(self.resample_alpha, preset.resample_alpha),
            block_repeats=pick(self.block_repeats, preset.block_repeats),
            endpoints_num_filters=pick(self.endpoints_filters, head_filters if self.head_filters is not None else preset.endpoints_num_filters),
            activation=pick(self.activation, preset.activation),
            drop_connect=pick(self.drop_connect, preset.drop_connect),
            norm=self.norm,
        )
        return DetectorConfig(
            backbone=backbone,
            head_filters=head_filters,
            head_convs=pick(self.head_convs, preset.head_convs),
            anchors=AnchorConfig(anchor_size=pick(self.anchor_size, preset.anchor_size)),
            loss=loss,
            inference=inference,
        )


@dataclass
class ProxyConfig:
    """A proxy (or full) detection training recipe: data, input size and length, then the
    detector's scaling (`model`), the optimiser (`optim`), the loss and the post-processing, each the
    component's own config."""

    label: str = "custom"  # the choice's name in logs and records (conf/proxy/<label>.yaml)
    data: DataConfig = field(default_factory=DataConfig)
    image_size: int | None = 256  # None: the preset's published input size
    epochs: int = 5
    batch_size: int = 16
    model: ModelScaling = field(default_factory=ModelScaling)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    inference: InferenceConfig = field(default_factory=InferenceConfig)
    scale_jitter_min: float = 0.8
    scale_jitter_max: float = 1.2
    flip: bool = True
    num_workers: int = 2
    device: str = "auto"
    amp: str = "auto"
    channels_last: bool = True
    seed: int = 0
    eval_backend: str = "pycocotools"
    log_every_s: float = 30.0
    bn_recalibration_batches: int = 20  # precise BN before evaluation; 0 keeps the running averages
    gpu_memory_fraction: float | None = None  # cap of the CUDA allocator (share of the GPU); None: no cap
    probe_at: list[float] = field(default_factory=list)  # also evaluate AP after these fractions of the steps (`AP@0.25`)
    rung_val_images: int | None = None  # a rung's (or probe's) evaluation on the first N validation images; None: all (the final one always all)

    def validate(self) -> None:
        """Raise `ValueError` naming the field for values no run could use."""
        if self.image_size is not None and (self.image_size <= 0 or self.image_size % 128):
            raise ValueError(f"proxy.image_size must be a positive multiple of 128, got {self.image_size}")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"proxy.{name} must be >= 1, got {getattr(self, name)}")
        if self.eval_backend not in BACKENDS:
            raise ValueError(f"proxy.eval_backend must be one of {', '.join(BACKENDS)}, got {self.eval_backend!r}")
        if not 0 < self.scale_jitter_min <= self.scale_jitter_max:
            raise ValueError("proxy.scale_jitter_min must be > 0 and <= proxy.scale_jitter_max")
        if self.gpu_memory_fraction is not None and not 0 < self.gpu_memory_fraction <= 1:
            raise ValueError(f"proxy.gpu_memory_fraction must be in (0, 1], got {self.gpu_memory_fraction}")
        if self.optim.optimizer not in OPTIMIZERS:
            raise ValueError(f"proxy.optim.optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optim.optimizer!r}")
        if self.model.norm not in NORMS:
            raise ValueError(f"proxy.model.norm must be one of {', '.join(NORMS)}, got {self.model.norm!r}")
        if any(not 0 < f < 1 for f in self.probe_at):
            raise ValueError(f"proxy.probe_at must hold fractions of training strictly between 0 and 1, got {list(self.probe_at)}")
        if self.rung_val_images is not None and self.rung_val_images < 1:
            raise ValueError(f"proxy.rung_val_images must be >= 1 (or null: every image), got {self.rung_val_images}")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise ValueError(f"proxy.device must be auto, cpu or cuda[:N], got {self.device!r}")

    def detector_config(self, preset: ModelPreset) -> DetectorConfig:
        """Backbone, head, loss and inference settings; scaling fields left None come from `preset`."""
        return self.model.detector_config(preset, loss=self.loss, inference=self.inference)
