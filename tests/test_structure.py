"""The structural features: counted by hand on SpineNet-49, each output's route checked against every
path of the graph, and blind to the order in which independent blocks are listed."""

import numpy as np
import pytest

from search_space import get_architecture
from search_space.space import get_space
from search_space.spec import Architecture, BlockSpec
from search_space.structure import STRUCTURE_NAMES, structural_features

SPACE = get_space("r0_sp53", block_adjustments=True)


def named(arch: Architecture) -> dict[str, float]:
    return dict(zip(STRUCTURE_NAMES, structural_features(arch)))


def test_spinenet49_by_hand():
    f = named(get_architecture("spinenet49"))
    assert len(STRUCTURE_NAMES) == len(structural_features(get_architecture("spinenet49")))
    # the paper's SpineNet-49 blocks: L2 x1, L3 x2, L4 x4, L5 x4, L6 x2, L7 x2 (with its outputs)
    assert [f[f"L{l}.blocks"] for l in range(2, 8)] == [1, 2, 4, 4, 2, 2]
    assert f["edges.up"] + f["edges.down"] + f["edges.same"] == 2 * 15  # two parents per block
    assert f["dead_blocks"] == 0  # every block reaches an output
    assert all(f[f"P{l}.route"] == 0 for l in range(3, 8))  # every output is reachable without passing a coarser level


def routes_by_enumeration(arch: Architecture) -> dict[int, int]:
    """For each output level, the smallest (over every path from a stem node) of the coarsest level on
    the path, relative to the output's level: a brute-force twin of the features' dynamic programme."""
    n_stem, folds = arch.num_stem, arch.output_folds()
    inputs = {n_stem + i: (*b.parents, *folds[i]) for i, b in enumerate(arch.blocks)}

    def paths(node: int):
        if node < n_stem:
            yield (node,)
            return
        for p in inputs[node]:
            for path in paths(p):
                yield (*path, node)

    out = {}
    for i, b in enumerate(arch.blocks):
        if b.is_output:
            out[b.level] = min(max(arch.node_level(n) for n in path) for path in paths(n_stem + i)) - b.level
    return out


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5])
def test_each_outputs_route_is_the_minimax_over_all_its_paths(seed):
    arch = SPACE.sample(seed)
    f = named(arch)
    assert {l: f[f"P{l}.route"] for l in range(3, 8)} == routes_by_enumeration(arch)


def test_the_same_graph_listed_in_another_order_has_the_same_features():
    # two blocks with the same parents (the stem) and nothing between them can be listed either way
    head = [BlockSpec(3, "bottleneck", (0, 1)), BlockSpec(6, "residual", (0, 1))]
    rest = [
        BlockSpec(4, "bottleneck", (2, 3)), BlockSpec(3, "bottleneck", (2, 4), True), BlockSpec(4, "bottleneck", (4, 5), True),
        BlockSpec(5, "bottleneck", (5, 6), True), BlockSpec(6, "bottleneck", (3, 7), True), BlockSpec(7, "bottleneck", (8, 3), True),
    ]  # fmt: skip
    a = Architecture("a", (*head, *rest))
    swap = {2: 3, 3: 2}  # the two first blocks exchanged: every later parent index follows
    b = Architecture("b", (head[1], head[0], *(BlockSpec(x.level, x.block_fn, tuple(swap.get(p, p) for p in x.parents), x.is_output) for x in rest)))
    assert a.id != b.id
    np.testing.assert_array_equal(structural_features(a), structural_features(b))


def test_an_fpn_has_no_spine_features():
    with pytest.raises(ValueError, match="scale-permuted"):
        structural_features(get_architecture("resnet50_fpn"))


def test_names_are_unique_and_cover_every_level():
    assert len(set(STRUCTURE_NAMES)) == len(STRUCTURE_NAMES)
    assert {n.split(".")[0] for n in STRUCTURE_NAMES if n.startswith("P")} == {f"P{l}" for l in range(3, 8)}
