import copy
import math

import pytest
import torch

from proxy_tasks.cache import build_cache
from proxy_tasks.data import load_coco
from proxy_tasks.loader import BatchLoader
from search_space.catalog import BackboneConfig
from proxy_tasks.config import DetectorConfig, OptimConfig
from proxy_tasks.retinanet import build_detector
from proxy_tasks.synthetic import SYNTHETIC_PRESETS, ensure_synthetic
from proxy_tasks.train import NonFiniteLossError, autocast_dtype, lr_at, make_optimizer, train
from search_space import get_architecture


def test_warmup_then_cosine_by_hand():
    cfg = OptimConfig(lr=0.1, warmup_steps=10)
    assert lr_at(0, 110, cfg) == pytest.approx(0.01)
    assert lr_at(9, 110, cfg) == pytest.approx(0.1)
    assert lr_at(60, 110, cfg) == pytest.approx(0.05)  # halfway through the cosine
    assert lr_at(110, 110, cfg) == pytest.approx(0.0, abs=1e-12)
    assert lr_at(35, 110, cfg) == pytest.approx(0.05 * (1 + math.cos(math.pi * 0.25)))


def test_no_weight_decay_on_norms_and_biases():
    model = build_detector(get_architecture("spinenet49"), 3, DetectorConfig(BackboneConfig(0.125, endpoints_num_filters=8), head_filters=8))
    decay, no_decay = make_optimizer(model, OptimConfig()).param_groups
    assert all(p.ndim == 4 for p in decay["params"]) and all(p.ndim == 1 for p in no_decay["params"])
    assert no_decay["weight_decay"] == 0.0


def test_adamw_is_an_option_with_the_same_decay_groups():
    model = build_detector(get_architecture("spinenet49"), 3, DetectorConfig(BackboneConfig(0.125, endpoints_num_filters=8), head_filters=8))
    opt = make_optimizer(model, OptimConfig(lr=0.003, weight_decay=0.05, optimizer="adamw"))
    assert isinstance(opt, torch.optim.AdamW) and opt.param_groups[0]["weight_decay"] == 0.05
    assert opt.param_groups[1]["weight_decay"] == 0.0 and opt.param_groups[0]["lr"] == 0.003
    with pytest.raises(ValueError, match="optimizer must be one of sgd, adamw"):
        OptimConfig(optimizer="adam")


def test_adamw_is_fused_and_updates_as_the_per_tensor_loop_does():
    model = build_detector(get_architecture("spinenet49"), 3, DetectorConfig(BackboneConfig(0.125, endpoints_num_filters=8), head_filters=8))
    twin = copy.deepcopy(model)
    start = [p.detach().clone() for p in model.parameters()]
    cfg = OptimConfig(lr=0.003, weight_decay=0.05, optimizer="adamw")
    opt = make_optimizer(model, cfg)
    assert opt.defaults["fused"] is True
    groups = [{"params": g["params"], "weight_decay": g["weight_decay"]} for g in make_optimizer(twin, cfg).param_groups]  # the same decay split
    loop = torch.optim.AdamW(groups, lr=cfg.lr, foreach=False)
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):  # the same gradients into both (a network's own would drift apart with the rounding)
        for p, q in zip(model.parameters(), twin.parameters()):
            p.grad = torch.randn(p.shape, generator=gen) * 1e-2
            q.grad = p.grad.clone()
        opt.step()
        loop.step()
    moved = max(float((a - b).abs().max()) for a, b in zip(model.parameters(), twin.parameters()))
    assert moved < 1e-6  # the same update up to rounding; each step moves a weight by up to lr = 3e-3
    assert min(float((a - b).abs().max()) for a, b in zip(model.parameters(), start)) > 1e-3  # every tensor moved


def test_autocast_choice():
    assert autocast_dtype(torch.device("cpu"), "auto") is None
    with pytest.raises(ValueError, match="amp must be"):
        autocast_dtype(torch.device("cpu"), "fp8")


def test_nan_loss_stops_with_a_specific_error():
    paths = ensure_synthetic(SYNTHETIC_PRESETS["tiny"])
    ds = load_coco(paths.train_ann, paths.train_images)
    loader = BatchLoader(build_cache(ds, 128), ds.images[:16], 8, train=True)
    model = build_detector(get_architecture("spinenet49"), ds.num_classes, DetectorConfig(BackboneConfig(0.125, endpoints_num_filters=8), head_filters=8))
    model.backbone.register_forward_hook(lambda _m, _i, out: {k: v * float("nan") for k, v in out.items()})
    with pytest.raises(NonFiniteLossError, match="training loss became nan at step 0"):
        train(model, loader, epochs=1, cfg=OptimConfig(), device=torch.device("cpu"))
