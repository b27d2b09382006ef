"""`spinenas export`: write a backbone (or backbone + RetinaNet head) as TorchScript, ONNX or a
state dict, then load the file back as another program would and compare its outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from nas.settings.commands import ExportRequest
from proxy_tasks.config import DetectorConfig, InferenceConfig, LossConfig, ModelScaling
from proxy_tasks.retinanet import build_detector
from search_space.catalog import ModelPreset, get_preset, preset_for, resolve_architecture
from search_space.errors import InputError
from search_space.export import DetectionBackbone, flatten, load_weights, max_difference, output_names, read_tensors, run_exported, save_module
from search_space.spec import Architecture, SpecError, from_dict

SUFFIX = {"torchscript": ".pt", "onnx": ".onnx", "state_dict": ".pth"}
HEAD_OUTPUTS = ("cls_logits", "box_deltas")  # (N, anchors, classes), (N, anchors, 4) over p3..p7
TOLERANCE = 1e-4  # float32 difference allowed between the file's outputs and the module's


def detector_config(preset: ModelPreset) -> DetectorConfig:
    """The paper's detector settings for a preset (head width and depth, anchor size)."""
    return ModelScaling.of_preset().detector_config(preset, loss=LossConfig(), inference=InferenceConfig())


def build_module(req: ExportRequest) -> tuple[nn.Module, Architecture, int]:
    """The module to export, its architecture, and the image size to trace it at.

    From a `spinenas train` checkpoint the detector is rebuilt with that training's settings and
    weights; otherwise at the preset's full size (random weights, or `--weights`).
    """
    if req.checkpoint is not None:
        ckpt = read_tensors(req.checkpoint)
        if not isinstance(ckpt, dict) or "model" not in ckpt or "arch" not in ckpt:
            raise SpecError(f"{req.checkpoint}: not a `spinenas train` checkpoint (needs 'model' and 'arch')")
        from nas.settings.schemas import proxy_config

        arch = from_dict(ckpt["arch"], source=str(req.checkpoint))
        proxy = proxy_config(ckpt["proxy"])
        preset = get_preset(req.preset or ckpt.get("preset") or "spinenet49")
        detector = build_detector(arch, int(ckpt["num_classes"]), proxy.detector_config(preset))
        detector.load_state_dict(ckpt["model"])
        size = req.image_size or proxy.image_size or preset.image_size
    else:
        arch = resolve_architecture(req.spec)
        preset = get_preset(req.preset) if req.preset else preset_for(req.spec)
        detector = build_detector(arch, req.num_classes, detector_config(preset))
        size = req.image_size or preset.image_size
    module: nn.Module = detector if req.with_head else DetectionBackbone(detector.backbone, pad=False)
    if req.weights is not None and req.checkpoint is None:  # a checkpoint brings its own weights
        load_weights(module, req.weights)
    return module, arch, size


def export(req: ExportRequest) -> dict[str, Any]:
    """Write the file and check it; returns what was written and the measured difference."""
    size = req.image_size
    if size is not None and (size <= 0 or size % 128):
        raise InputError(f"--image-size {size} must be a positive multiple of 128")
    if req.num_classes < 1:
        raise InputError(f"--num-classes must be >= 1, got {req.num_classes}")
    module, arch, size = build_module(req)
    module.eval()
    out = req.out or Path(f"{arch.name}{'_retinanet' if req.with_head else ''}{SUFFIX[req.fmt]}")
    example = torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(0))
    names = list(HEAD_OUTPUTS) if req.with_head else output_names(module, example)
    save_module(module, out, req.fmt, example, names)
    record: dict[str, Any] = {
        "file": str(out),
        "format": req.fmt,
        "arch": arch.name,
        "arch_id": arch.id,
        "with_head": req.with_head,
        "image_size": size,
        "outputs": names,
        "params": sum(p.numel() for p in module.parameters()),
    }
    if req.fmt == "state_dict":
        state = read_tensors(out)
        diff = max(float((state[k].float() - v.float()).abs().max()) if v.numel() else 0.0 for k, v in module.state_dict().items())
        record["max_abs_diff"] = diff
        return record
    # A second input of another batch size and shape checks that the graph is not frozen to one.
    check = torch.randn(2, 3, size, size + 128, generator=torch.Generator().manual_seed(1))
    try:
        outputs = run_exported(out, req.fmt, check)
    except ImportError:
        record["max_abs_diff"] = None
        record["note"] = "onnxruntime is not installed: the file was written but not run (pip install onnxruntime)"
        return record
    record["max_abs_diff"] = max_difference(module, outputs, check)
    record["output_shapes"] = {n: list(t.shape) for n, t in zip(names, flatten(outputs))}
    if record["max_abs_diff"] > TOLERANCE:
        raise RuntimeError(f"{out}: outputs differ from the PyTorch module by {record['max_abs_diff']:.2e} (> {TOLERANCE})")
    return record
