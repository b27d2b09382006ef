import math

import numpy as np
import pytest
import torch

from search_space import SpecError, build_backbone, get_architecture, get_space, list_spaces
from search_space.space import LEVELS

S49 = get_architecture("spinenet49")
VARIANTS = [(name, adj) for name in list_spaces() for adj in (False, True)]


def test_spinenet49_encodes_in_r0_sp53_with_adjustments():
    space = get_space("r0_sp53", block_adjustments=True)
    actions = space.encode(S49)
    assert len(actions) == len(space.decisions) == 15 * 4 + 10
    back = space.decode(actions, name="spinenet49")
    assert back == S49


def test_spinenet49_needs_block_adjustments():
    with pytest.raises(SpecError, match="residual block needs block_adjustments=true"):
        get_space("r0_sp53").encode(S49)


def test_spinenet49_is_outside_the_narrow_window():
    with pytest.raises(SpecError, match="block 5: parent 3 is outside the last 3 nodes built"):
        get_space("r0_sp53", block_adjustments=True, parent_window=3).encode(S49)


def test_other_spaces_reject_spinenet49():
    with pytest.raises(SpecError, match="stem .* differs"):
        get_space("r35_sp18", block_adjustments=True).encode(S49)


@pytest.mark.parametrize("name, adj", VARIANTS)
def test_random_samples_round_trip(name, adj):
    space = get_space(name, block_adjustments=adj)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(300):
        actions = space.sample_actions(rng)
        arch = space.decode(actions)
        assert space.encode(arch) == actions or space.decode(space.encode(arch)) == arch
        assert arch.stem == space.stem and len(arch.blocks) == space.num_blocks
        assert all(b.is_output for b in arch.blocks[-5:]) and not any(b.is_output for b in arch.blocks[:-5])
        seen.add(arch.id)
    assert len(seen) > 250  # the sampler explores, it does not repeat itself


@pytest.mark.parametrize("name, adj", VARIANTS)
def test_samples_build_and_run(name, adj):
    space = get_space(name, block_adjustments=adj)
    for seed in range(3):
        model = build_backbone(space.sample(seed), filter_size_scale=0.125, resample_alpha=0.25, endpoints_num_filters=8)
        with torch.no_grad():
            out = model.eval()(torch.zeros(1, 3, 128, 128))
        assert [t.shape[-1] for t in out.values()] == [16, 8, 4, 2, 1]


def test_masks_follow_the_rules():
    space = get_space("r0_sp53", block_adjustments=True, parent_window=5)
    walk = space.walk()
    assert space.decisions[0].kind == "level"
    assert [LEVELS[k] for k in np.flatnonzero(walk.mask())] == [2, 3, 4, 5]  # intermediate pool
    walk.step(LEVELS.index(2))
    assert walk.mask().tolist() == [False, True, True, True]  # L2 cannot shift down to L1
    walk.step(1)
    walk.step(0)
    assert np.flatnonzero(walk.mask()).tolist() == [0]  # block 0: parents (0, 1) only
    walk.step(0)
    assert np.flatnonzero(walk.mask()).tolist() == [1]
    with pytest.raises(SpecError, match="action 0 is not valid for block0.parent1"):
        walk.step(0)


def test_window_limits_intermediate_parents_only():
    space = get_space("r0_sp53", parent_window=5)
    assert space.parent_range(9) == (6, 10)  # intermediate: last five nodes built
    assert space.parent_range(10) == (0, 11)  # output: every earlier node
    assert get_space("r0_sp53", parent_window=None).parent_range(9) == (0, 10)


def test_sampling_is_deterministic_under_a_seed():
    space = get_space("r23_sp30", block_adjustments=True)
    assert space.sample_actions(7) == space.sample_actions(7)
    assert space.sample_actions(7) != space.sample_actions(8)


def test_size_by_hand_for_r35_sp18():
    space = get_space("r35_sp18")  # 6 blocks: 1 intermediate (L2) + 5 outputs, 5 stem candidates
    parents = math.comb(5, 2) * math.prod(math.comb(k, 2) for k in range(6, 11))
    assert space.log10_size() == pytest.approx(math.log10(math.factorial(5) * parents))
    assert space.paper_log10_size() == pytest.approx(math.log10(math.factorial(5) * parents))


def test_unknown_space_lists_valid_names():
    with pytest.raises(KeyError, match="r35_sp18, r23_sp30, r14_sp39, r0_sp53"):
        get_space("r50")


def test_decode_rejects_wrong_length():
    with pytest.raises(SpecError, match="expected 45 actions"):
        get_space("r0_sp53").decode([0])


@pytest.mark.parametrize("name, adj", [("r0_sp53", True), ("r0_sp53", False), ("r23_sp30", True)])
def test_coarsest_member_is_in_the_space_and_coarse(name, adj):
    space = get_space(name, block_adjustments=adj)
    arch = space.coarsest()
    assert space.decode(space.encode(arch)).blocks == arch.blocks  # a valid member
    inter = arch.blocks[: space.num_intermediate]
    assert [b.level for b in arch.blocks[space.num_intermediate :]] == [3, 4, 5, 6, 7]
    assert [b.level for b in inter] == sorted((b.level for b in inter), reverse=True)  # coarsest first
    for i, b in enumerate(arch.blocks):
        node = space.num_stem + i
        assert b.parents == (node - 2, node - 1)  # the two nodes built just before
    if adj:  # every intermediate block shifted as far up as allowed
        bases = sorted(space.intermediate_pool.elements(), reverse=True)
        assert [b.level for b in inter] == [min(7, lv + 2) for lv in bases]
        assert all(b.level >= 4 for b in inter)
