"""Architectures as data, the SpineNet search spaces, and the PyTorch backbones built from them.

This package knows nothing of Ray, Hydra or datasets: import it just to build a SpineNet.
"""

from search_space.builder import build_backbone
from search_space.catalog import ModelPreset, get_architecture, get_preset, list_architectures
from search_space.cost import Cost, measure
from search_space.errors import SpineNASError
from search_space.export import DetectionBackbone, spinenet_backbone
from search_space.head import RetinaNetHead
from search_space.space import Decision, SearchSpace, get_space, list_spaces
from search_space.spec import Architecture, BlockSpec, SpecError, StemGroup, load_architecture

__all__ = [
    "Architecture",
    "BlockSpec",
    "Cost",
    "Decision",
    "DetectionBackbone",
    "ModelPreset",
    "RetinaNetHead",
    "SearchSpace",
    "SpecError",
    "SpineNASError",
    "StemGroup",
    "build_backbone",
    "get_architecture",
    "get_preset",
    "get_space",
    "list_architectures",
    "list_spaces",
    "load_architecture",
    "measure",
    "spinenet_backbone",
]
