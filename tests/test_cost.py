import pytest
import torch
from torch import nn

from search_space import get_architecture, get_preset, measure
from search_space.cost import count_flops, count_params

# Paper, Table 3 (RetinaNet, backbone + head): params (M) and FLOPs (B multiply-adds).
PAPER = {
    "spinenet49": (28.5, 85.4),
    "spinenet96": (43.0, 265.4),
    "spinenet143": (66.9, 524.4),
    "spinenet190": (163.6, 1885.0),
    "resnet50_fpn": (34.0, 96.8),
}


def test_single_conv_by_hand():
    conv = nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=True)
    # Output 8 x 64 x 64; each output value takes 3 * 3 * 3 multiply-adds.
    assert count_flops(conv, 128) == 8 * 64 * 64 * 27
    assert count_params(conv) == 8 * 27 + 8


def test_grouped_conv_and_linear_by_hand():
    model = nn.Sequential(nn.Conv2d(3, 6, 1, groups=3), nn.Flatten(), nn.Linear(6 * 4 * 4, 10))
    assert count_flops(model, 4) == 6 * 16 * 1 + 10 * 96


@pytest.mark.parametrize("name", sorted(PAPER))
def test_catalog_matches_the_paper(name):
    params, flops = PAPER[name]
    cost = measure(get_architecture(name), get_preset(name), with_head=True)
    assert cost.params / 1e6 == pytest.approx(params, rel=0.01)
    assert cost.flops / 1e9 == pytest.approx(flops, rel=0.01)


def test_meta_count_equals_real_count():
    arch, preset = get_architecture("spinenet49s"), get_preset("spinenet49s")
    meta = measure(arch, preset, image_size=256)
    from search_space import build_backbone
    from dataclasses import asdict

    real = build_backbone(arch, **asdict(preset.backbone_config())).eval()
    assert count_params(real) == meta.params
    assert count_flops(real, 256) == meta.flops
    assert next(real.parameters()).device == torch.device("cpu")


def test_flops_scale_with_image_area():
    arch, preset = get_architecture("spinenet49"), get_preset("spinenet49")
    assert measure(arch, preset, 1280).flops == pytest.approx(4 * measure(arch, preset, 640).flops, rel=1e-6)
