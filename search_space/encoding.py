"""Architectures as feature vectors, for a learned predictor of their score.

`encode_architecture(space, arch)` is the adjacency encoding in the space's own decision order:
each controller decision one-hot (per block: base level, level shift, block type, and each of the
two parents as a one-hot over the nodes it may connect to), followed by every block's final level
and type as numbers (so level differences are ordered, which one-hot alone does not say). An
architecture outside the space raises `SpecError` (from `SearchSpace.encode`).
"""

from __future__ import annotations

import numpy as np

from search_space.space import SearchSpace
from search_space.spec import BLOCK_FNS, Architecture


def feature_names(space: SearchSpace) -> list[str]:
    """A name for every feature `encode_architecture` returns, in order."""
    names = [f"{d.name}={k}" for d in space.decisions for k in range(d.size)]
    names += [f"block{i}.level" for i in range(space.num_blocks)]
    names += [f"block{i}.residual" for i in range(space.num_blocks)]
    return names


def encode_architecture(space: SearchSpace, arch: Architecture) -> np.ndarray:
    """The feature vector of `arch` (float32; see the module docstring)."""
    actions = space.encode(arch)
    parts = [np.eye(d.size, dtype=np.float32)[a] for d, a in zip(space.decisions, actions)]
    parts.append(np.array([b.level for b in arch.blocks], dtype=np.float32))
    parts.append(np.array([BLOCK_FNS.index(b.block_fn) for b in arch.blocks], dtype=np.float32))
    return np.concatenate(parts)
