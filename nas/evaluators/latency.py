"""Latency as an evaluator whose metrics join the proxy's: `latency_ms` of the full-size model.

A search whose reward needs latency (`reward=latency_budget`, `reward=pareto`) gets this evaluator
next to its proxy: the runner adds its metrics to every trial's before the reward is computed. By
default (`latency.source=predicted`) the latency is predicted from a lookup table calibrated once on
the machine that runs `spinenas search` (`search_space.latency_table`; the driver calibrates what is
missing before Ray starts, and the table travels to the workers inside this object), so a trial on
a GPU node still gets the latency of the target device. `latency.table=FILE` uses a table
calibrated elsewhere (`spinenas latency --calibrate --space NAME --out FILE` on the target device).
`latency.source=measured` times the full-size model inside each trial, on the trial's device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from nas.core.schedule import SchedulerConfig
from nas.evaluators.base import Reference, TrialContext
from search_space.catalog import ModelPreset, get_preset
from search_space.errors import ConfigError
from search_space.spec import Architecture

SOURCES = ("predicted", "measured")
DEVICES = ("cpu", "cuda")
BACKENDS = ("torch", "onnxruntime")


@dataclass
class LatencyOptions:
    """`latency.*`: where the latency a latency-aware reward uses is measured, and how.

    `image_size` None: the preset's; `threads` None: every CPU this process may use."""

    source: str = "predicted"
    table: Optional[str] = None
    device: str = "cpu"
    image_size: Optional[int] = None
    batch: int = 1
    threads: Optional[int] = None
    backend: str = "torch"
    with_head: bool = True
    repeats: int = 10
    fit_archs: int = 3  # sampled architectures (besides SpineNet-49) the table's ratio is measured on

    def validate(self) -> None:
        """Raise `ValueError` naming the key for values that cannot be timed anywhere."""
        for key, value, valid in (("source", self.source, SOURCES), ("device", self.device, DEVICES), ("backend", self.backend, BACKENDS)):
            if value not in valid:
                raise ValueError(f"latency.{key} must be one of {', '.join(valid)}, got {value!r}")
        if self.image_size is not None and (self.image_size <= 0 or self.image_size % 128):
            raise ValueError(f"latency.image_size must be a positive multiple of 128, got {self.image_size}")
        if self.batch < 1 or (self.threads is not None and self.threads < 1) or self.repeats < 3 or self.fit_archs < 0:
            raise ValueError("latency.batch and latency.threads must be >= 1, latency.repeats >= 3, latency.fit_archs >= 0")
        if self.source == "predicted" and self.backend != "torch":
            raise ValueError("latency.source=predicted uses a table timed with latency.backend=torch; measure ONNX Runtime with latency.source=measured")

    def setting(self, preset: ModelPreset) -> Any:
        """The `LatencySetting` these options stand for at `preset`."""
        from search_space.latency import LatencySetting, default_threads

        return LatencySetting(
            self.device, self.image_size or preset.image_size, self.batch, self.threads or default_threads(), self.backend, self.with_head,
            warmup=2, repeats=self.repeats,
        )  # fmt: skip


class LatencyEvaluator:
    """`latency_ms` (and the full-size model's FLOPs and params) for an architecture."""

    epochs = None  # nothing to stop between

    def __init__(self, options: LatencyOptions, preset: str, space: Any = None) -> None:
        self.options, self.preset_name, self.space = options, preset, space
        self.table: Any = None  # the calibrated table (predicted), loaded by `check`

    @property
    def preset(self) -> ModelPreset:
        return get_preset(self.preset_name)

    def check(self, say: Any = print, may_calibrate: bool = True) -> None:
        """Prepare the latency source on the driver: the table read, or calibrated for the space
        where this machine has none yet (about a minute on a 2-core laptop at 640 px; with
        `may_calibrate` False, left without a table instead: `self.table` stays None)."""
        if self.options.source == "measured":
            self.options.setting(self.preset).check(config=True)
            return
        from search_space.latency import LatencyCache, calibrate, table_for

        preset, setting = self.preset, self.options.setting(self.preset)
        setting.check(config=True)
        if self.options.table is not None:
            self.table, _ = table_for(preset, setting, self.options.table)
            return
        table, where = table_for(preset, setting)
        probe = self.space.coarsest() if self.space is not None else None
        if table.calibration and (probe is None or not table.missing([probe], preset, setting.with_head)):
            self.table = table
            return
        if not may_calibrate:
            return
        if self.space is None:
            raise ConfigError("latency: no calibrated table for this device and preset; run spinenas latency --calibrate --space NAME first")
        say(f"latency: calibrating the table for {self.space.name} at {setting.image_size} px, {setting.threads} threads on this machine (once; cached in {where.parent})")
        fit = [self.space.sample(10_000 + k) for k in range(self.options.fit_archs)]
        from search_space.catalog import get_architecture

        self.table, _ = calibrate([self.space.coarsest()], [get_architecture("spinenet49"), *fit], preset, setting, LatencyCache(), progress=lambda m: say(f"latency: {m}"))

    def fit_to_trial(self, gpus: float) -> None:
        pass

    def evaluate(self, arch: Architecture, ctx: TrialContext | None = None) -> dict[str, Any]:
        """`latency_ms` of `arch`'s full-size model: predicted from the table, or timed here."""
        if self.options.source == "predicted":
            if self.table is None:
                self.check()
            return {"latency_ms": self.table.predict(arch, self.preset, self.options.with_head)}
        from search_space.latency import measure_latency

        return {"latency_ms": measure_latency(arch, self.preset, self.options.setting(self.preset)).timing.median_ms}

    def cost(self, arch: Architecture, preset: ModelPreset) -> dict[str, int]:
        from search_space.cost import measure

        c = measure(arch, preset, self.options.image_size or preset.image_size, with_head=self.options.with_head)
        return {"params": c.params, "flops": c.flops}

    def reference(self, epochs: int) -> Reference:
        return Reference({"source": "measured"}, "measured whole-network latency", 1.0)

    def trial_seconds(self, result: Mapping[str, Any], scheduler: SchedulerConfig, steps: int | None) -> tuple[float, dict[str, Any]]:
        return float(result["wall_s"]), {"trial_s": float(result["wall_s"])}

