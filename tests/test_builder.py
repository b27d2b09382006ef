import pytest
import torch

from search_space import build_backbone, get_architecture, get_preset, list_architectures
from search_space.blocks import Block, DropConnect
from dataclasses import asdict


def small(name):
    """The model's own preset, shrunk to test size (block repeats, alpha and activation kept)."""
    kw = asdict(get_preset(name).backbone_config())
    kw.update(filter_size_scale=kw["filter_size_scale"] * 0.125, endpoints_num_filters=16)
    return kw


@pytest.mark.parametrize("name", list_architectures())
def test_every_catalog_model_gives_p3_to_p7(name):
    torch.manual_seed(0)
    model = build_backbone(get_architecture(name), **small(name)).eval()
    x = torch.randn(2, 3, 256, 128)
    with torch.no_grad():
        out = model(x)
    assert sorted(out) == [3, 4, 5, 6, 7]
    for lv, t in out.items():
        assert t.shape == (2, 16, 256 // 2**lv, 128 // 2**lv)
        assert model.out_channels[lv] == 16 and model.strides[lv] == 2**lv
        assert torch.isfinite(t).all()


def test_input_must_be_divisible_by_128():
    model = build_backbone(get_architecture("spinenet49"), **small("spinenet49"))
    with pytest.raises(ValueError, match="divisible by 128"):
        model(torch.zeros(1, 3, 192, 128))


def test_channels_last_matches_contiguous():
    torch.manual_seed(0)
    model = build_backbone(get_architecture("spinenet49"), **small("spinenet49")).eval()
    x = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        ref = model(x)
        cl = model.to(memory_format=torch.channels_last)(x.to(memory_format=torch.channels_last))
    for lv in ref:
        torch.testing.assert_close(ref[lv], cl[lv], rtol=1e-4, atol=1e-5)


def test_official_semantics_of_spinenet49():
    model = build_backbone(get_architecture("spinenet49"), resample_alpha=0.5, drop_connect=0.2)
    # The second stacked L5 bottleneck (block 9, node 11) has no consumer and folds into P5.
    assert model.folds[12] == (11,) and sum(map(len, model.folds)) == 1
    # Stem: the first L2 group projects 64 -> 256, the second does not.
    g0, g1 = model.stem.groups
    assert isinstance(g0[0].shortcut, torch.nn.Sequential) and isinstance(g1[0].shortcut, torch.nn.Identity)
    # Scale-permuted blocks never project: resampling already delivers their width.
    assert all(isinstance(g[0].shortcut, torch.nn.Identity) for g in model.groups)
    # Resampling widths: parent base width x alpha (block 2 at L3 from the L2 stem: 64 * 0.5 = 32).
    first = model.resample0[2].layers[0][0]
    assert (first.in_channels, first.out_channels) == (256, 32)
    # Drop-connect rate grows linearly: 0.2 * (i + 1) / 15.
    rates = [m.rate for m in model.groups.modules() if isinstance(m, DropConnect)]
    assert rates[0] == pytest.approx(0.2 / 15) and rates[-1] == pytest.approx(0.2)


def test_block_repeats_stack_blocks():
    m = build_backbone(get_architecture("spinenet96"), **small("spinenet96"))
    assert all(len(g) == 2 for g in m.groups) and all(len(g) == 2 for g in m.stem.groups)
    assert sum(isinstance(b, Block) for b in m.modules()) == 2 * (15 + 2)


def test_drop_connect_only_in_training():
    torch.manual_seed(0)
    d = DropConnect(0.5)
    x = torch.ones(1000, 1, 1, 1)
    kept = d.train()(x)
    assert set(kept.unique().tolist()) == {0.0, 2.0} and 0.4 < (kept > 0).float().mean() < 0.6
    assert torch.equal(d.eval()(x), x)


def test_resnet50_fpn_stem_is_resnet50():
    m = build_backbone(get_architecture("resnet50_fpn"), activation="relu")
    blocks = [sum(1 for _ in g) for g in m.stem.groups]
    assert blocks == [3, 4, 6, 3] and m.stem.channels == [256, 512, 1024, 2048]


def test_group_norm_replaces_every_batch_norm():
    arch = get_architecture("spinenet49")
    model = build_backbone(arch, 0.25, 0.25, endpoints_num_filters=64, norm="group")
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    norms = [m for m in model.modules() if isinstance(m, torch.nn.GroupNorm)]
    assert norms and all(m.num_channels % m.num_groups == 0 for m in norms)
    assert all(m.num_channels // m.num_groups == 8 for m in norms if m.num_channels % 8 == 0)
    same = build_backbone(arch, 0.25, 0.25, endpoints_num_filters=64)
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in same.parameters())
    model.eval()
    one = model(torch.randn(1, 3, 128, 128))
    assert {lv: tuple(f.shape) for lv, f in one.items()} == {lv: (1, 64, 128 // 2**lv, 128 // 2**lv) for lv in range(3, 8)}
    with pytest.raises(ValueError, match="unknown norm 'layer'; valid: batch, group"):
        build_backbone(arch, norm="layer")
