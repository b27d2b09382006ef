"""Architectures as the graphs they are, summarised in numbers a predictor can learn from.

The adjacency encoding (`search_space.encoding`) says which decision took which value: two
architectures that differ only in the order of independent blocks look far apart there. These
features describe the graph instead, so they do not depend on where in the sequence a block sits:

- per level (L2..L7): blocks, bottleneck blocks, and the compute a block does there (its output
  area times its width squared, relative: 4^-level x width^2 / 256^2);
- parents: how many edges go up, down and stay, the mean and largest level gap, and the
  resampling they need (the output area a resampled edge has to fill, summed);
- per output level (P3..P7): the output block's depth (longest path from the stem, in blocks), how
  many nodes feed it (ancestors), its type, the level gap of its parents, the fold-ins
  (unconsumed nodes merged into it, the official rule), its finest and coarsest parent's level
  relative to its own, and its route: the coarsest level on the finest path from the stem to it,
  relative to its own (detail that had to pass through a coarse level is lost on the way);
- the whole graph: longest path, mean output depth, blocks that reach no output, intermediate
  blocks at levels 6-7 (where the coarsest member spends all of them).

`structural_features(arch)` returns them in the order of `STRUCTURE_NAMES`; it needs no space, so
any spine-decoder architecture (a catalog model, a spec file) has them.
"""

from __future__ import annotations

import numpy as np

from search_space.spec import Architecture, level_channels

LEVELS = (2, 3, 4, 5, 6, 7)
OUTPUT_LEVELS = (3, 4, 5, 6, 7)

STRUCTURE_NAMES: tuple[str, ...] = (
    *(f"L{l}.blocks" for l in LEVELS),
    *(f"L{l}.bottlenecks" for l in LEVELS),
    *(f"L{l}.compute" for l in LEVELS),
    "edges.up", "edges.down", "edges.same", "gap.mean", "gap.max", "resample.area",
    *(f"P{l}.{k}" for l in OUTPUT_LEVELS for k in ("depth", "ancestors", "bottleneck", "parent_gap", "folds", "finest_parent", "coarsest_parent", "route")),
    "longest_path", "output_depth.mean", "dead_blocks", "high_intermediates",
)  # fmt: skip


def structural_features(arch: Architecture) -> np.ndarray:
    """The graph features of a spine-decoder `arch`, in `STRUCTURE_NAMES` order (float64)."""
    if arch.decoder != "spine":
        raise ValueError(f"{arch.name}: structural features describe scale-permuted (spine) architectures, not decoder={arch.decoder!r}")
    n_stem, blocks = arch.num_stem, arch.blocks
    nodes = n_stem + len(blocks)
    level = [arch.node_level(i) for i in range(nodes)]
    depth = [0] * nodes
    route = list(level)  # the coarsest level on the finest path from the stem to each node (minimax)
    ancestors: list[set[int]] = [set() for _ in range(nodes)]
    folds = arch.output_folds()
    feeds: list[list[int]] = [[] for _ in range(nodes)]  # children of each node, fold-ins included
    for i, b in enumerate(blocks):
        node = n_stem + i
        inputs = (*b.parents, *folds[i])
        depth[node] = 1 + max(depth[p] for p in inputs)
        route[node] = max(level[node], min(route[p] for p in inputs))
        ancestors[node] = set().union(*(ancestors[p] | {p} for p in inputs))
        for p in inputs:
            feeds[p].append(node)
    per_level = {l: [0.0, 0.0, 0.0] for l in LEVELS}
    ups = downs = sames = 0
    gaps: list[int] = []
    resample = 0.0
    for i, b in enumerate(blocks):
        row = per_level[b.level]
        row[0] += 1
        row[1] += b.block_fn == "bottleneck"
        row[2] += 4.0 ** -b.level * (level_channels(b.level, b.block_fn) / 256) ** 2
        for p in b.parents:
            gap = b.level - level[p]
            gaps.append(abs(gap))
            ups, downs, sames = ups + (gap < 0), downs + (gap > 0), sames + (gap == 0)
            resample += 4.0 ** -min(b.level, level[p]) if gap else 0.0
    outputs = {b.level: n_stem + i for i, b in enumerate(blocks) if b.is_output}
    per_output = []
    for lv in OUTPUT_LEVELS:
        out = outputs.get(lv)
        if out is None:
            per_output += [0.0] * 8
            continue
        b = blocks[out - n_stem]
        per_output += [depth[out], len(ancestors[out]), float(b.block_fn == "bottleneck"),
                       float(np.mean([abs(b.level - level[p]) for p in b.parents])), float(len(folds[out - n_stem])),
                       min(level[p] for p in b.parents) - lv, max(level[p] for p in b.parents) - lv, route[out] - lv]  # fmt: skip
    reach = set().union(*(ancestors[n] | {n} for n in outputs.values())) if outputs else set()
    dead = sum(1 for i in range(n_stem, nodes) if i not in reach)
    high = sum(1 for b in blocks if not b.is_output and b.level >= 6)
    values = [
        *(per_level[l][0] for l in LEVELS), *(per_level[l][1] for l in LEVELS), *(per_level[l][2] for l in LEVELS),
        ups, downs, sames, float(np.mean(gaps)) if gaps else 0.0, max(gaps, default=0), resample,
        *per_output, max(depth), float(np.mean([depth[n] for n in outputs.values()])) if outputs else 0.0, dead, high,
    ]  # fmt: skip
    return np.asarray(values, dtype=np.float64)
