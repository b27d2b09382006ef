"""Architectures as data, the SpineNet search spaces, and the PyTorch backbones built from them.

This package knows nothing of Ray, Hydra or datasets: import it just to build a SpineNet. Its names
are loaded on first use, so that `search_space.spec` or `search_space.catalog` alone (a command
line, a config check) does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "build_backbone": "builder",
    "ModelPreset": "catalog",
    "get_architecture": "catalog",
    "get_preset": "catalog",
    "list_architectures": "catalog",
    "Cost": "cost",
    "measure": "cost",
    "SpineNASError": "errors",
    "DetectionBackbone": "export",
    "spinenet_backbone": "export",
    "RetinaNetHead": "head",
    "Decision": "space",
    "SearchSpace": "space",
    "get_space": "space",
    "list_spaces": "space",
    "Architecture": "spec",
    "BlockSpec": "spec",
    "SpecError": "spec",
    "StemGroup": "spec",
    "load_architecture": "spec",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    """`search_space.X` imports X's module the first time it is asked for."""
    if name not in _HOMES:
        raise AttributeError(f"module 'search_space' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"search_space.{_HOMES[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
