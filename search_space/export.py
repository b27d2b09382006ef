"""Take a found backbone out of SpineNAS: a torchvision-style module and self-contained files.

`spinenet_backbone` returns a backbone in the shape torchvision's detection models expect (an
`out_channels` attribute and an ordered dict of feature maps). `save_module` writes any module as
TorchScript, ONNX or a plain state dict, and `load_exported` / `run_exported` read the first two
back the way another program would (torch.jit / onnxruntime), to check the files.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections import OrderedDict
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from search_space.builder import MAX_STRIDE, Backbone, build_backbone
from search_space.catalog import ModelPreset, get_preset, preset_for, resolve_architecture
from search_space.errors import InputError
from search_space.fileio import atomic_path
from search_space.spec import Architecture

FORMATS = ("torchscript", "onnx", "state_dict")
ONNX_OPSET = 17


class DetectionBackbone(nn.Module):
    """A backbone as torchvision's detectors take it: `out_channels` (one width for every level)
    and `forward(images) -> OrderedDict` of feature maps `p3` (stride 8) ... `p7` (stride 128).

    In eager mode an input whose sides are not multiples of 128 is zero-padded at the bottom and
    right, as torchvision's transform pads a batch; traced or exported graphs take sides that are
    multiples of 128 (the padding would be frozen into them as constants).
    """

    def __init__(self, body: Backbone, pad: bool = True) -> None:
        super().__init__()
        widths = set(body.out_channels.values())
        if len(widths) != 1:
            raise InputError(f"torchvision detectors need one width for all levels, got {body.out_channels}")
        self.body = body
        self.pad = pad
        self.out_channels: int = widths.pop()
        self.strides: dict[str, int] = {f"p{lv}": s for lv, s in body.strides.items()}

    def forward(self, images: torch.Tensor) -> "OrderedDict[str, torch.Tensor]":
        if self.pad and not torch.jit.is_tracing():
            h, w = images.shape[-2:]
            images = F.pad(images, (0, -w % MAX_STRIDE, 0, -h % MAX_STRIDE))
        return OrderedDict((f"p{lv}", f) for lv, f in self.body(images).items())


def spinenet_backbone(
    arch: str | Architecture = "spinenet49",
    *,
    preset: str | ModelPreset | None = None,
    weights: str | Path | None = None,
    norm: str = "batch",
    pad: bool = True,
) -> DetectionBackbone:
    """A SpineNet (or the R50-FPN seed) for torchvision-style detection code.

    Args:
        arch: a catalog name (spinenet49, ...), a spec file (a search's best.yaml) or an Architecture.
        preset: the scaling (filters, resampling alpha, repeats, output width); by default the
            catalog model's own, else SpineNet-49's.
        weights: a state-dict file written by `spinenas export --format state_dict` for the same
            arch and preset (read with `weights_only=True`).
        norm: "batch" (official) or "group".
        pad: zero-pad inputs to multiples of 128 in eager mode.
    """
    name = arch if isinstance(arch, str) else arch.name
    spec = resolve_architecture(arch) if isinstance(arch, str) else arch
    if preset is None:
        preset = preset_for(name)
    elif isinstance(preset, str):
        preset = get_preset(preset)
    body = build_backbone(spec, **asdict(replace(preset.backbone_config(), norm=norm)))
    module = DetectionBackbone(body, pad=pad)
    if weights is not None:
        load_weights(module, weights)
    return module


def load_weights(module: nn.Module, path: str | Path) -> None:
    """Load a state-dict file into `module` (strict); a mismatch names the file and the keys."""
    state = read_tensors(path)
    if not isinstance(state, dict):
        raise InputError(f"{path}: not a state dict (a {type(state).__name__})")
    own = module.state_dict()
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    if missing or unexpected:
        raise InputError(
            f"{path}: the weights do not fit this architecture and preset "
            f"(missing {len(missing)} keys, e.g. {missing[:2]}; unexpected {len(unexpected)}, e.g. {unexpected[:2]})"
        )
    shapes = [k for k, v in own.items() if tuple(v.shape) != tuple(state[k].shape)]
    if shapes:
        raise InputError(f"{path}: tensor shapes differ from this architecture and preset ({len(shapes)} tensors, e.g. {shapes[:2]})")
    module.load_state_dict(state)


def read_tensors(path: str | Path) -> Any:
    """`torch.load(path, weights_only=True)`, with a missing or unreadable file named in one line."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except Exception as e:  # noqa: BLE001 - torch raises several kinds for a file that is not its own
        raise InputError(f"{path}: not a readable weights file ({' '.join(str(e).split())[:160]})") from None


def output_names(module: nn.Module, example: torch.Tensor) -> list[str]:
    """Names of the module's outputs in order: the dict keys, or out0, out1, ... for tuples."""
    with torch.no_grad():
        out = module(example)
    return list(out) if isinstance(out, dict) else [f"out{i}" for i in range(len(flatten(out)))]


def flatten(out: Any) -> list[torch.Tensor]:
    """A module's outputs (tensor, tuple or dict of tensors) as a list, in order."""
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        return list(out.values())
    return list(out)


def save_module(module: nn.Module, path: str | Path, fmt: str, example: torch.Tensor, names: Sequence[str] | None = None) -> None:
    """Write `module` (put in eval mode) as `fmt`, traced on `example`; written atomically.

    torchscript: `torch.jit.load(path)` in any PyTorch program, no SpineNAS needed.
    onnx: opset 17, batch and image sides dynamic (sides multiples of 128).
    state_dict: `torch.load(path, weights_only=True)`, plain tensors keyed as the module's.
    """
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}; valid: {', '.join(FORMATS)}")
    if fmt == "onnx" and importlib.util.find_spec("onnx") is None:
        raise InputError("--format onnx needs the onnx package (pip install -c constraints.txt -e \".[export]\")")
    module.eval()
    if fmt == "state_dict":
        with atomic_path(path) as tmp:
            torch.save(module.state_dict(), tmp)
        return
    names = list(names or output_names(module, example))
    with torch.no_grad(), warnings.catch_warnings():
        # TorchScript and the TorchScript-based ONNX exporter are deprecated in favour of
        # torch.export, and say so on every call; they still work and are what users load.
        warnings.simplefilter("ignore")
        if fmt == "torchscript":
            traced = torch.jit.trace(module, example, strict=False)
            with atomic_path(path) as tmp:
                torch.jit.save(traced, str(tmp))
        else:
            axes = {"images": {0: "batch", 2: "height", 3: "width"}}
            with atomic_path(path) as tmp:
                torch.onnx.export(
                    module,
                    (example,),
                    str(tmp),
                    input_names=["images"],
                    output_names=names,
                    dynamic_axes=axes,
                    opset_version=ONNX_OPSET,
                    dynamo=False,
                )


def run_exported(path: str | Path, fmt: str, images: torch.Tensor) -> list[torch.Tensor]:
    """Run an exported file as another program would and return its outputs in order."""
    if fmt == "torchscript":
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.jit.load's deprecation notice
            return flatten(torch.jit.load(str(path), map_location="cpu")(images))
    if fmt == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return [torch.from_numpy(a) for a in session.run(None, {"images": images.numpy()})]
    raise InputError(f"{fmt} files are weights, not programs; load them into the module")


def max_difference(module: nn.Module, outputs: Sequence[torch.Tensor], images: torch.Tensor) -> float:
    """Largest absolute difference between `outputs` and what `module` gives for `images`."""
    with torch.no_grad():
        expected = flatten(module.eval()(images))
    if len(expected) != len(outputs):
        raise InputError(f"the exported file gives {len(outputs)} outputs, the module {len(expected)}")
    return max(float((a.float() - b.float()).abs().max()) for a, b in zip(outputs, expected))
