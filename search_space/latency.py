"""Measured latency of a full-size model on this machine: warm-up, repeats, median and spread.

What is timed is one forward pass in inference mode of the backbone (or backbone + RetinaNet head,
outputs before box decoding and NMS, as FLOPs are counted) at the preset's scaling, on `device`
with `threads` CPU threads, through PyTorch eager or ONNX Runtime. Every measurement is keyed by
what it depends on (architecture id, scaling, device name, image size, batch, threads, backend,
head, torch version) and cached on disk, so asking again costs nothing.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import statistics
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from torch import nn

from search_space.builder import build_network
from search_space.catalog import ModelPreset
from search_space.errors import InputError
from search_space.fileio import atomic_write_text, cache_dir
from search_space.latency_parts import component_module
from search_space.latency_table import LatencyTable, save_table, space_keys, table_identity, table_path
from search_space.spec import Architecture

DEVICES = ("cpu", "cuda")
BACKENDS = ("torch", "onnxruntime")


@dataclass(frozen=True)
class LatencySetting:
    """Where and how a model is timed: the things its latency depends on besides the model."""

    device: str = "cpu"
    image_size: int = 640
    batch: int = 1
    threads: int = 1
    backend: str = "torch"
    with_head: bool = False
    warmup: int = 3
    repeats: int = 10

    def check(self, config: bool = False) -> None:
        """Raise `InputError` naming the option for a setting that cannot be timed here: as
        `spinenas latency` spells it (`--image-size`), or with `config` as the search's keys do
        (`latency.image_size`)."""
        opt = (lambda key: f"latency.{key}") if config else (lambda key: "--" + key.replace("_", "-"))
        given = (lambda key, value: f"{opt(key)}={value}") if config else (lambda key, value: f"{opt(key)} {value}")
        if self.device not in DEVICES:
            raise InputError(f"{opt('device')} must be one of {', '.join(DEVICES)}, got {self.device!r}")
        if self.backend not in BACKENDS:
            raise InputError(f"{opt('backend')} must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.image_size <= 0 or self.image_size % 128:
            raise InputError(f"{given('image_size', self.image_size)} must be a positive multiple of 128")
        if self.batch < 1 or self.threads < 1:
            raise InputError(f"{opt('batch')} and {opt('threads')} must be >= 1, got {self.batch} and {self.threads}")
        if self.repeats < 3 or self.warmup < 0:
            raise InputError(f"{opt('repeats')} must be >= 3 and {opt('warmup')} >= 0, got {self.repeats} and {self.warmup}")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise InputError(f"{given('device', 'cuda')}: no CUDA device is visible to torch on this machine")
        if self.backend == "onnxruntime":
            try:
                import onnxruntime  # noqa: F401
            except ImportError:
                raise InputError(f'{given("backend", "onnxruntime")} needs onnxruntime (pip install -c constraints.txt -e ".[export]")') from None
            if self.device == "cuda":
                raise InputError(f"{given('backend', 'onnxruntime')} times on the CPU here; use {given('backend', 'torch')} for {given('device', 'cuda')}")


@dataclass(frozen=True)
class Timing:
    """Milliseconds per forward pass: median, 10th and 90th percentile of the repeats."""

    median_ms: float
    p10_ms: float
    p90_ms: float
    repeats: int

    @property
    def spread(self) -> float:
        """(p90 - p10) / median: how noisy the machine was while timing."""
        return (self.p90_ms - self.p10_ms) / self.median_ms if self.median_ms > 0 else 0.0


def device_name(device: str) -> str:
    """The processor the latency is for: the GPU's name, or the CPU model (from /proc/cpuinfo) with
    the vector instructions torch uses on it (`AMD EPYC (AVX512)`): virtual machines often report
    one model name for CPUs whose convolutions run at different speeds."""
    if device == "cuda":
        return torch.cuda.get_device_name()
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model} ({torch.backends.cpu.get_cpu_capability()})"


def time_calls(fn: Callable[[], Any], warmup: int, repeats: int, sync: Callable[[], None] = lambda: None) -> Timing:
    """Call `fn` `warmup` times untimed, then `repeats` times timed one by one."""
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t) * 1e3)
    q = statistics.quantiles(times, n=10, method="inclusive")
    return Timing(statistics.median(times), q[0], q[-1], repeats)


def time_module(module: nn.Module, inputs: torch.Tensor, setting: LatencySetting) -> Timing:
    """Time `module(inputs)` as `setting` says (device, threads, backend)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(setting.threads)
    try:
        if setting.backend == "onnxruntime":
            return _time_onnx(module, inputs, setting)
        device = torch.device(setting.device)
        module, inputs = module.to(device), inputs.to(device)
        sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
        with torch.inference_mode():
            return time_calls(lambda: module(inputs), setting.warmup, setting.repeats, sync)
    finally:
        torch.set_num_threads(previous)


def _time_onnx(module: nn.Module, inputs: torch.Tensor, setting: LatencySetting) -> Timing:
    """Export to ONNX (the file `spinenas export` writes) and time an ONNX Runtime CPU session."""
    import onnxruntime

    from search_space.export import save_module

    with tempfile.TemporaryDirectory(prefix="spinenas-latency-") as tmp:
        path = Path(tmp) / "model.onnx"
        save_module(module, path, "onnx", inputs, names=None)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = setting.threads
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        feed = {"images": inputs.numpy()}
        return time_calls(lambda: session.run(None, feed), setting.warmup, setting.repeats)


@dataclass(frozen=True)
class Measurement:
    """A cached latency: what was timed, where, and the timing."""

    arch_id: str
    arch_name: str
    device_name: str
    setting: LatencySetting
    timing: Timing
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "arch": self.arch_name, "arch_id": self.arch_id, "device_name": self.device_name, **asdict(self.setting),
            "repeats": self.timing.repeats,  # a cached timing may hold more runs than this request asked for
            "median_ms": round(self.timing.median_ms, 3), "p10_ms": round(self.timing.p10_ms, 3),
            "p90_ms": round(self.timing.p90_ms, 3), "spread": round(self.timing.spread, 4), "cached": self.cached,
        }  # fmt: skip


def measurement_key(arch: Architecture, preset: ModelPreset, setting: LatencySetting) -> dict[str, Any]:
    """Everything a latency depends on (warm-up and repeats excepted: they change the estimate, not what is measured)."""
    where = {k: v for k, v in asdict(setting).items() if k not in ("warmup", "repeats")}
    return {"arch_id": arch.id, "preset": asdict(preset), "device_name": device_name(setting.device), "torch": torch.__version__, **where}


class LatencyCache:
    """One JSON file per measurement under `<cache>/latency/`, named by the hash of its key."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root is not None else cache_dir() / "latency"

    def path(self, key: dict[str, Any]) -> Path:
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
        return self.root / f"{digest}.json"

    def get(self, key: dict[str, Any]) -> Timing | None:
        path = self.path(key)
        try:
            record = json.loads(path.read_text())
            return Timing(**record["timing"]) if record.get("key") == key else None
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent or unreadable: measured again and rewritten

    def put(self, key: dict[str, Any], timing: Timing) -> None:
        atomic_write_text(self.path(key), json.dumps({"key": key, "timing": asdict(timing)}, sort_keys=True))


def measure_latency(
    arch: Architecture, preset: ModelPreset, setting: LatencySetting, cache: LatencyCache | None = None, refresh: bool = False
) -> Measurement:
    """The latency of `arch` at `preset` as `setting` says, from the cache unless `refresh`."""
    setting.check()
    key = measurement_key(arch, preset, setting)
    if cache is not None and not refresh:
        hit = cache.get(key)
        if hit is not None and hit.repeats >= setting.repeats:  # fewer runs than asked for: timed again
            return Measurement(arch.id, arch.name, key["device_name"], setting, hit, cached=True)
    model = build_network(arch, preset, setting.with_head).eval()
    inputs = torch.randn(setting.batch, 3, setting.image_size, setting.image_size)
    timing = time_module(model, inputs, setting)
    if cache is not None:
        cache.put(key, timing)
    return Measurement(arch.id, arch.name, key["device_name"], setting, timing)


def default_threads() -> int:
    """Threads a latency is measured with unless given: the CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def time_components(keys: Sequence[str], arch: Architecture, preset: ModelPreset, setting: LatencySetting, progress: Callable[[int, int], None] | None = None) -> dict[str, float]:
    """Median ms of each latency-table component, built alone at the shapes it has in a network
    (`arch` gives the stem) and timed as `setting` says."""
    out: dict[str, float] = {}
    for k, key in enumerate(keys):
        module, inputs = component_module(key, arch, preset, setting)
        out[key] = time_module(module, inputs, setting).median_ms
        if progress is not None:
            progress(k + 1, len(keys))
    return out


def table_for(preset: ModelPreset, setting: LatencySetting, path: str | Path | None = None) -> tuple[LatencyTable, Path]:
    """The latency table for `preset` and `setting` on this device (read from `path`, else from
    the cache; empty when there is none yet) and where it is kept."""
    if path is not None:
        return LatencyTable.read(path), Path(path)
    identity = table_identity(preset, setting, device_name(setting.device), torch.__version__)
    where = table_path(identity)
    return (LatencyTable.read(where) if where.exists() else LatencyTable(identity)), where


def calibrate(
    archs: Sequence[Architecture],
    fit_archs: Sequence[Architecture],
    preset: ModelPreset,
    setting: LatencySetting,
    cache: LatencyCache | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[LatencyTable, Path]:
    """Time every component `archs` use (for a search space: `space_keys` of its stem) that the
    table lacks, measure the `fit_archs` whole, fit the ratio and save the table."""
    setting.check()
    if setting.backend != "torch":
        raise InputError("the latency table is timed with --backend torch (ONNX Runtime times whole networks only)")
    table, where = table_for(preset, setting)
    say = progress or (lambda _msg: None)
    for arch in archs:
        keys = space_keys(arch, preset, setting.with_head) if arch.decoder == "spine" else table.missing([arch], preset, setting.with_head)
        keys = [k for k in keys if k not in table.entries]
        if keys:
            say(f"timing {len(keys)} components of {arch.name}'s space")
            table.entries.update(time_components(keys, arch, preset, setting))
    measured = []
    for arch in fit_archs:
        m = measure_latency(arch, preset, setting, cache)
        say(f"{arch.name}: {m.timing.median_ms:.1f} ms measured{' (cached)' if m.cached else ''}")
        measured.append((arch, m.timing.median_ms))
    table.fit(measured, preset, setting.with_head)
    save_table(table, where)
    return table, where
