"""Every command's options, declared once: flag, default, help, what config.yaml records and what a
resume must keep (`nas.settings.options.option`). The parser is generated from these classes
(`nas.commands.cli.COMMANDS`); the commands take them as they are. Light: no torch, Ray or Hydra,
so `spinenas --help` and a mistyped option cost nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from nas.settings.options import option
from search_space.catalog import PRESETS
from search_space.errors import ConfigError

if TYPE_CHECKING:
    from nas.settings.search import SearchSettings

REFERENCE_SEED_OFFSET = 1000  # proxy-design's reference seeds are proxy.seed + this + k: none is a candidate's (proxy.seed + k, k < --seeds)
PRESET_CHOICES = tuple(sorted(PRESETS))


@dataclass(frozen=True)
class ShowOptions:
    """`spinenas show`."""

    arch: str = option(help="catalog name (spinenet49, resnet50_fpn, ...) or spec file (.yaml/.json)", positional=True)
    preset: str | None = option(None, "scaling preset (default: the model's own, else spinenet49)", choices=PRESET_CHOICES)
    image_size: int | None = option(None, "square input size, divisible by 128 (default: the preset's)")
    with_head: bool = option(False, "count the RetinaNet head too (as the paper's FLOPs do)")
    num_classes: int = option(91, "classes of the head, as COCO configs")
    json: bool = option(False, "print one JSON object instead of a table")
    draw: str | None = option(None, "write a diagram (.png, .svg or .pdf)", metavar="FILE")


@dataclass(frozen=True)
class PlanOptions:
    """`spinenas plan`: how the trial is timed and the cluster planned for."""

    steps: int | None = option(None, "time only this many training steps and extrapolate (default: a full trial)")
    cpus: float | None = option(None, "CPUs of the cluster to plan for (default: the configured Ray's)")
    gpus: float | None = option(None, "GPUs of the cluster to plan for (default: the configured Ray's)")
    json: bool = option(False, "print one JSON object")


@dataclass(frozen=True)
class ScreenOptions:
    """`spinenas screen`: which scores, which predictor, the seed of initialisation and batch."""

    scores: tuple[str, ...] | None = option(None, "comma-separated scores to compute (default: all)")  # None: every registered score
    predictor: Path | None = option(None, "a predictor .npz (default: benchmarks/table/predictor.npz)")  # None: the default where it exists
    seed: int = option(0, "initialisation and batch seed")
    json: bool = option(False, "print one JSON object per architecture")


@dataclass(frozen=True)
class TableOptions:
    """How many sampled architectures, seeds per architecture, and where AP is probed mid-training."""

    archs: int = option(150, "architectures drawn from the space (3 anchors are added); a larger value on resume adds rows", resume="free")
    seeds: int = option(2, "trainings per architecture, seeds proxy.seed + 0..S-1; a larger value on resume adds runs", resume="free")
    probe_at: tuple[float, ...] = option((0.25, 0.5), "also measure AP after these fractions of training")

    def check(self) -> None:
        if self.archs < 1:
            raise ConfigError(f"--archs must be >= 1, got {self.archs}")
        if self.seeds < 1:
            raise ConfigError(f"--seeds must be >= 1, got {self.seeds}")
        if any(not 0 < f < 1 for f in self.probe_at):
            raise ConfigError(f"--probe-at: fractions of training strictly between 0 and 1, got {','.join(map(str, self.probe_at))}")


@dataclass(frozen=True)
class FidelityOptions:
    """How many architectures and seeds, the reference training's length (0: no reference), and an
    earlier fidelity run to rank against (`compare_to`: its out_dir; e.g. the proxy before a change)."""

    archs: int = option(12, "architectures sampled from the space (3 anchors are added)")
    seeds: int = option(3, "proxy trainings per architecture, seeds proxy.seed + 0..S-1")
    reference_epochs: int | None = option(None, "epochs of the reference training (default 4x proxy.epochs; 0: none)")
    compare_to: Path | None = option(
        None, "an earlier fidelity run's out_dir: rank this run's architecture means against its means (e.g. a proxy before and after a change)",
        metavar="DIR", record=False,
    )  # fmt: skip

    def resolved(self, settings: SearchSettings) -> "FidelityOptions":
        """Options with the reference length filled in; bad values raise `ConfigError`."""
        if self.archs < 2:
            raise ConfigError(f"--archs must be >= 2 (a ranking needs two architectures), got {self.archs}")
        if self.seeds < 1:
            raise ConfigError(f"--seeds must be >= 1, got {self.seeds}")
        epochs = settings.epochs
        reference = self.reference_epochs
        if reference is None:
            reference = 4 * epochs if epochs else 1
        if reference < 0:
            raise ConfigError(f"--reference-epochs must be >= 0 (0: no reference runs), got {reference}")
        return replace(self, reference_epochs=reference)


@dataclass(frozen=True)
class DesignOptions:
    """The per-trial budget, how many sampled architectures and seeds, the reference training."""

    budget_s: float = option(help="seconds one proxy trial may take on this machine")
    archs: int = option(4, "architectures sampled from the space (3 anchors are added)")
    seeds: int = option(3, "seeds per architecture for the proxies that reach the last rung")
    reference: tuple[str, ...] = option((), "key=value overrides of the reference training, comma-separated (e.g. image_size=256,epochs=40)")
    reference_scale: float = option(4.0, "the reference run may take this many times --budget-s")
    reference_from: str | None = option(None, "reuse the reference runs of an earlier proxy-design on the same data (its reference settings too)", metavar="DIR")
    sizes: tuple[int, ...] = option((), "input sizes to measure, comma-separated (default: the data's rule, e.g. 128,256)")
    lrs: tuple[float, ...] = option((), "learning rates to try, comma-separated (default 0.001,0.003)")

    def check(self) -> None:
        if self.budget_s <= 0:
            raise ConfigError(f"--budget-s must be > 0, got {self.budget_s:g}")
        if self.archs < 2:
            raise ConfigError(f"--archs must be >= 2, got {self.archs}")
        if self.seeds < 2:
            raise ConfigError(f"--seeds must be >= 2 (seed agreement needs two), got {self.seeds}")
        if self.seeds > REFERENCE_SEED_OFFSET:
            raise ConfigError(f"--seeds must be <= {REFERENCE_SEED_OFFSET} (the reference's seeds start there), got {self.seeds}")
        if self.reference_scale < 1:
            raise ConfigError(f"--reference-scale must be >= 1, got {self.reference_scale:g}")


@dataclass(frozen=True)
class FinalizeOptions:
    """How many candidates, confirmation seeds per architecture, which baselines, which presets to
    scale to, and selection seeds per candidate (used only when there is more than one)."""

    top: int = option(3, "distinct architectures to retrain")
    seeds: int = option(3, "confirmation seeds for the pick and each baseline: the verdict's runs (at least 2)")
    baselines: tuple[str, ...] = option(("resnet50_fpn", "spinenet49"), "catalog models, comma-separated")
    scale: tuple[str, ...] = option((), "presets to write the pick at, e.g. spinenet96,spinenet143,spinenet190", resume="free")
    select_seeds: int = option(2, "selection seeds per candidate: the pick is the best mean over them (unused with --top 1)")
    run_dir: str = option("", "the search's folder (results/search-...)", positional=True, required=True, record=False)  # recorded as `run`

    @property
    def warnings(self) -> list[str]:
        """What the user should know before paying for the runs."""
        if self.seeds == 2:
            return ["--seeds 2: at two seeds Welch's test has ~1-2 degrees of freedom, so only a very large gap reaches p < 0.05; use 3 or more for a verdict you can rely on"]
        return []

    def check(self) -> None:
        from search_space.catalog import get_architecture

        if self.top < 1:
            raise ConfigError(f"--top must be >= 1, got {self.top}")
        if self.seeds < 2:
            raise ConfigError(f"--seeds must be >= 2 (one run per architecture has no spread, so no verdict is possible), got {self.seeds}")
        if self.top > 1 and self.select_seeds < 1:
            raise ConfigError(f"--select-seeds must be >= 1 to choose among {self.top} candidates, got {self.select_seeds}")
        for name in self.baselines:
            get_architecture(name)  # an unknown name lists the catalog
        for name in self.scale:
            if name not in PRESETS:
                raise ConfigError(f"--scale: unknown preset {name!r}; valid: {', '.join(sorted(PRESETS))}")


@dataclass(frozen=True)
class ExportRequest:
    """What `spinenas export` was asked for."""

    spec: str = option("", "catalog name or spec file (e.g. results/<run>/best.yaml); omit with --checkpoint", positional=True)
    fmt: str = option("", "the file's format", flag="--format", choices=("torchscript", "onnx", "state_dict"), required=True)
    out: Path | None = option(None, "output file (default: <arch name>[_retinanet].pt|.onnx|.pth here)")
    with_head: bool = option(False, "export backbone + RetinaNet head (class logits, box offsets)")
    image_size: int | None = option(None, "side of the traced input, a multiple of 128 (default: the preset's)")
    preset: str | None = option(None, "scaling preset (default: the model's own, else spinenet49)", choices=PRESET_CHOICES)
    num_classes: int = option(91, "classes of the head with --with-head")
    weights: Path | None = option(None, "state-dict file to load first (from --format state_dict)")
    checkpoint: Path | None = option(None, "a `spinenas train` checkpoint.pt: export that trained model")
    json: bool = option(False, "print one JSON object")


@dataclass(frozen=True)
class LatencyRequest:
    """What `spinenas latency` was asked for."""

    specs: tuple[str, ...] = option((), "catalog names or spec files (e.g. spinenet49 results/<run>/best.yaml)", positional=True, metavar="SPEC")
    device: str = option("cpu", "where to time", choices=("cpu", "cuda"))
    image_size: int | None = option(None, "square input, a multiple of 128 (default: the preset's)")
    batch: int = option(1, "images per forward pass")
    threads: int | None = option(None, "CPU threads (default: every CPU this process may use)")
    backend: str = option("torch", "what runs the model", choices=("torch", "onnxruntime"))
    with_head: bool = option(False, "time backbone + RetinaNet head (before box decoding and NMS)")
    preset: str | None = option(None, "scaling preset (default: the model's own, else spinenet49)", choices=PRESET_CHOICES)
    warmup: int = option(3, "untimed runs first")
    repeats: int = option(10, "timed runs")
    refresh: bool = option(False, "measure again even when cached")
    predict: bool = option(False, "print the latency table's prediction beside each measurement")
    calibrate: bool = option(False, "calibrate the latency table for --space on this machine")
    space: str = option("r0_sp53", "search space to calibrate for")
    out: str | None = option(None, "with --calibrate: also write the table to this file (latency.table=FILE reads it)")
    force: bool = option(False, "replace the --out file if it exists")
    json: bool = option(False, "print JSON (one object per model)")


@dataclass(frozen=True)
class StatsOptions:
    """`spinenas data stats`."""

    json: bool = option(False, "print one JSON object")


@dataclass(frozen=True)
class ConvertOptions:
    """`spinenas data convert`."""

    out_dir: str = option(help="folder for train.json and val.json", positional=True)
    force: bool = option(False, "replace train.json / val.json that exist in OUT_DIR")


@dataclass(frozen=True)
class ReportOptions:
    """`spinenas report`."""

    run_dir: str = option(help="the search's out_dir (results/search-...)", positional=True)
    open: bool = option(False, "open the page in the default browser")


@dataclass(frozen=True)
class SplitOptions:
    """`spinenas split`."""

    ann: str = option(help="COCO annotation JSON (e.g. instances_train2017.json)", positional=True)
    holdout: int = option(7392, "images to hold out (7392, as the paper)")
    seed: int = option(0, "which images are held out")
    out_dir: str | None = option(None, "where to write the two files (default: next to ANN)")
