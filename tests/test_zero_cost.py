"""Zero-cost scores on real proxy detectors and on small nets whose values are known by hand."""

import math

import pytest
import torch
from torch import nn

from nas.evaluators import build_evaluator
from nas.settings.search import load_settings
from proxy_tasks import zero_cost
from proxy_tasks.zero_cost import ZERO_COST, Probe, compute_scores, naswot, score_architecture, synflow
from search_space import get_architecture
from search_space.catalog import get_preset


class Chain(nn.Module):
    """`depth` 1x1 convs (one channel, weight `w`) with ReLUs; returns (out, out) like a detector."""

    def __init__(self, depth: int, w: float) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(1, 1, 1, bias=False) for _ in range(depth))
        self.act = nn.ReLU()
        for c in self.convs:
            nn.init.constant_(c.weight, w)

    def forward(self, x):
        x = x[:, :1]
        for c in self.convs:
            x = self.act(c(x))
        return x, torch.zeros_like(x)


def probe_of(images: torch.Tensor) -> Probe:
    class B:
        pass

    b = B()
    b.images, b.targets = images, []
    p = Probe(b, images.shape[-1], 1)
    p.__class__ = type("RawProbe", (Probe,), {"inputs": property(lambda self: self.batch.images)})
    return p


def test_synflow_by_hand_and_beyond_float64():
    # R = sum over 4 pixels of w^depth; each weight's theta * dR/dtheta = 4 w^depth; depth of them.
    p = probe_of(torch.zeros(1, 3, 2, 2))
    assert synflow(Chain(3, 2.0), p) == pytest.approx(math.log10(3 * 4 * 2.0**3))
    # 10^2 per layer over 200 layers: 1e400 overflows float64 (and float32 long before): +inf, documented.
    assert synflow(Chain(200, 100.0), p) == math.inf


def test_naswot_by_hand():
    # One ReLU unit per pixel; two images with opposite signs disagree on every unit, identical ones agree.
    images = torch.tensor([[[[1.0, -1.0]]], [[[-1.0, 1.0]]]]).expand(2, 3, 1, 2).contiguous()
    net = Chain(1, 1.0)
    # K = [[2, 0], [0, 2]] (units where the codes agree) -> log det = log 4.
    assert naswot(net, probe_of(images)) == pytest.approx(math.log(4.0))
    same = torch.ones(2, 3, 1, 2)
    assert naswot(net, probe_of(same)) == -math.inf  # identical codes: a singular kernel


def test_a_new_score_is_one_registered_function():
    @zero_cost.zero_cost("depth_test")
    def depth(model, probe):
        return float(sum(isinstance(m, nn.Conv2d) for m in model.modules()))

    try:
        out = compute_scores(lambda: Chain(4, 1.0), probe_of(torch.ones(1, 3, 2, 2)), ["depth_test"])
        assert out["depth_test"]["value"] == 4.0 and out["depth_test"]["ms"] >= 0
        with pytest.raises(ValueError, match="twice"):
            zero_cost.zero_cost("depth_test")(depth)
    finally:
        del ZERO_COST["depth_test"]
    with pytest.raises(ValueError, match="unknown zero-cost score"):
        compute_scores(lambda: Chain(1, 1.0), probe_of(torch.ones(1, 3, 2, 2)), ["nope"])


def test_scores_of_real_proxy_detectors():
    task = build_evaluator(load_settings(["proxy=synthetic_tiny"]).proxy).task
    preset = get_preset("spinenet49")
    arch = get_architecture("spinenet49")
    first = score_architecture(task, arch, preset)
    again = score_architecture(task, arch, preset)
    assert set(first) == set(ZERO_COST)
    assert {k: v["value"] for k, v in first.items()} == {k: v["value"] for k, v in again.items()}  # seeded: repeatable
    assert all(math.isfinite(v["value"]) for v in first.values())
    assert first["synflow"]["value"] > 38.6  # beyond float32's range (3.4e38): why it is computed in float64
    other = score_architecture(task, get_architecture("resnet50_fpn"), preset)
    assert other["params"]["value"] > first["params"]["value"]  # R50-FPN has more parameters (docs/models.md)
    assert other["naswot"]["value"] != first["naswot"]["value"]
    reseeded = score_architecture(task, arch, preset, ["grad_norm"], seed=1)
    assert reseeded["grad_norm"]["value"] != first["grad_norm"]["value"]
