"""The plateau detector: the constant predictor's classification loss is what RetinaNet's own loss
gives a constant-logit model on the data, and a background-only run is flagged, a trained one not."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from nas.settings.search import load_settings
from proxy_tasks.config import AnchorConfig, LossConfig
from proxy_tasks.plateau import CLS_MARGIN, anchor_counts, constant_cls_loss, plateau_reason
from proxy_tasks.retinanet import generate_anchors
from search_space.catalog import get_architecture, get_preset


def toy_targets():
    """Three 128 px images with 0-2 boxes of two classes."""
    box = lambda *b: torch.tensor([b], dtype=torch.float32)  # noqa: E731
    return [
        {"boxes": torch.cat([box(10, 10, 40, 50), box(60, 20, 120, 90)]), "labels": torch.tensor([0, 1])},
        {"boxes": box(30, 30, 62, 62), "labels": torch.tensor([1])},
        {"boxes": torch.zeros((0, 4)), "labels": torch.zeros(0, dtype=torch.long)},
    ]


def retinanet_cls_loss(logits: torch.Tensor, targets, anchors: AnchorConfig, loss: LossConfig) -> float:
    """RetinaNet.loss's classification part for a model whose logits are `logits` (K,) everywhere."""
    from proxy_tasks.retinanet import RetinaNet

    model = RetinaNet.__new__(RetinaNet)
    torch.nn.Module.__init__(model)
    model.anchor_cfg, model.loss_cfg, model._anchors = anchors, loss, {}
    t = generate_anchors(128, anchors).shape[0]
    cls = logits.view(1, 1, -1).expand(len(targets), t, -1).contiguous()
    return float(model.loss(cls, torch.zeros(len(targets), t, 4), targets, 128)["cls_loss"])


def test_the_constant_predictor_loss_is_retinanets_own_at_the_best_constant():
    anchors, loss = AnchorConfig(anchor_size=2.0), LossConfig()
    pos, neg = anchor_counts(toy_targets(), 128, anchors, loss, 2)
    assert pos.sum() > 0 and (neg > 100 * pos).all()
    best = constant_cls_loss(pos, neg, loss)
    assert type(best) is float  # metrics go into weights-only checkpoints: no numpy scalars
    # The optimum per class, found again by scanning logits, and the training loss at it.
    grid = np.linspace(-8, 0, 801)
    scans = [[retinanet_cls_loss(torch.tensor([b if k == c else -30.0 for k in range(2)]), toy_targets(), anchors, loss) for b in grid[::40]] for c in range(2)]
    assert all(np.argmin(s) not in (0, len(s) - 1) for s in scans)  # an interior optimum
    logits = torch.tensor([float(grid[::40][np.argmin(s)]) for s in scans])
    at_scan = retinanet_cls_loss(logits, toy_targets(), anchors, loss)
    assert best <= at_scan + 1e-6 and best == pytest.approx(at_scan, rel=0.02)  # the scan's step is 0.4 in logit
    assert retinanet_cls_loss(logits + 1.0, toy_targets(), anchors, loss) > best and retinanet_cls_loss(logits - 1.0, toy_targets(), anchors, loss) > best
    assert math.isnan(constant_cls_loss(np.zeros(2), np.ones(2), loss))


def test_plateau_reasons():
    assert plateau_reason(0.004, 0.5, 0.8).startswith("AP50 0.004 < 0.01")
    assert plateau_reason(0.03, 0.79, 0.8).startswith("classification loss 0.790 not below 0.9 x the constant predictor's 0.800")
    assert plateau_reason(0.03, (CLS_MARGIN - 0.01) * 0.8, 0.8) == ""
    assert plateau_reason(0.4, 0.3, 0.8) == "" and plateau_reason(float("nan"), float("nan"), float("nan")) == ""


def test_fidelity_names_its_plateau_runs():
    from nas.reporting.fidelity import format_summary, summarize
    from nas.reporting.run_folder import Row
    from nas.runner.planned import Candidate
    from pathlib import Path

    archs = [Candidate(n, "catalog", get_architecture(n), 1) for n in ("spinenet49", "resnet50_fpn")]
    rows = [Row({"arch": c.name, "arch_id": c.arch.id, "run": f"seed{k}", "status": "ok", "reward": 0.1 + k / 100 + i / 10,
                 "plateau": "AP50 0.004 < 0.01: no better than background everywhere" if (i, k) == (1, 0) else ""})
            for i, c in enumerate(archs) for k in range(2)]  # fmt: skip
    summary = summarize(rows, archs, {"proxy": "p", "space": "s", "metric": "AP", "seeds": 2, "reference_epochs": 0, "reference": None})
    assert summary["plateau_runs"] == ["resnet50_fpn seed0"]
    assert "1 runs stayed on the background-only plateau (resnet50_fpn seed0)" in format_summary(summary, Path("/x"))


def _scattered_set(tmp_path, n: int, fixed: bool, seed: int):
    """n 128x128 images with one 24 px object each: always at the same place (`fixed`) or anywhere."""
    from proxy_tasks.data import coco_dataset

    rng = np.random.default_rng(seed)
    images = [{"id": i + 1, "file_name": f"{i}.png", "width": 128, "height": 128} for i in range(n)]
    corners = [(40, 40) if fixed else tuple(rng.integers(0, 104, 2).tolist()) for _ in range(n)]
    anns = [{"id": i + 1, "image_id": i + 1, "category_id": 1, "bbox": [x, y, 24, 24], "area": 576, "iscrowd": 0} for i, (x, y) in enumerate(corners)]
    data = {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "cell"}]}
    return coco_dataset(data, tmp_path / f"set{seed}.json", tmp_path, check_files=False)


def _chance(tmp_path, fixed: bool) -> float:
    from proxy_tasks.config import InferenceConfig
    from proxy_tasks.loader import target_of
    from proxy_tasks.plateau import anchor_prior, image_independent_ap50

    train, val = _scattered_set(tmp_path, 60, fixed, 0), _scattered_set(tmp_path, 30, fixed, 1)
    anchors, ones = AnchorConfig(anchor_size=2.0), [1.0] * 60
    prior = anchor_prior((target_of(r, 1.0) for r in train.images), 128, anchors, LossConfig(), 1)
    return image_independent_ap50(prior, val, ones[:30], 128, anchors, InferenceConfig())


def test_an_image_independent_detector_is_perfect_where_objects_never_move_and_poor_where_they_do(tmp_path):
    """The baseline is a real detector scored by pycocotools: where every object sits at the same
    place, one fixed box finds them all; scattered
    objects leave it a few hits by luck."""
    assert _chance(tmp_path, fixed=True) == pytest.approx(1.0)
    assert 0.0 < _chance(tmp_path, fixed=False) < 0.3


def test_a_run_no_better_than_the_image_independent_detector_is_flagged_however_high_its_ap50():
    """On BCCD an image-independent detector scores AP50 0.029; runs stuck at 0.019-0.028 cleared the
    old fixed 0.01 line. Against the baseline they are flagged, a run that learned is not."""
    from proxy_tasks.plateau import CHANCE_FACTOR

    for stuck in (0.019, 0.028, 0.040):
        assert "an image-independent detector's, at most half-way to 1): the image was not looked at" in plateau_reason(stuck, 0.48, 0.59, 0.029)
        assert plateau_reason(stuck, 0.48, 0.59) == ""  # what the fixed line said
    assert plateau_reason(CHANCE_FACTOR * 0.029 + 0.001, 0.3, 0.59, 0.029) == "" and plateau_reason(0.4, 0.3, 0.59, 0.029) == ""
    assert plateau_reason(0.004, 0.3, 0.59, 0.001).startswith("AP50 0.004 < 0.01")  # the background-only floor stays
    # Where position says nearly everything (centred objects: chance 0.9), 1.5x would be out of reach;
    # the line stops half-way to a perfect 1.0
    assert plateau_reason(0.96, 0.3, 0.59, 0.9) == "" and "0.950" in plateau_reason(0.94, 0.3, 0.59, 0.9)


def test_the_tables_learning_runs_clear_the_synthetic_proxys_image_independent_detector():
    """The built-in proxy's data gives an image-independent detector AP50 0.035; of the 306 runs of
    the committed table, only the coarsest member's, u056's and u138's (AP <= 0.012, a gap to the
    next at AP50 0.069) are under the line; every other run learned the image."""
    import pandas as pd

    from proxy_tasks.plateau import CHANCE_FACTOR
    from proxy_tasks.task import ProxyTask

    torch.set_num_threads(1)
    options = load_settings(["proxy=synthetic"]).proxy
    task = ProxyTask(options, log=lambda _m: None)
    chance = task.chance_ap50(task.build(get_architecture("resnet50_fpn"), get_preset("spinenet49")))
    assert 0.03 < chance < 0.04, chance
    runs = pd.read_csv(Path(__file__).resolve().parents[1] / "benchmarks" / "table" / "runs.csv")
    runs = runs[runs["status"] == "ok"]
    flagged = runs[[plateau_reason(a, c, k, chance) != "" for a, c, k in zip(runs["AP50"], runs["final_cls_loss"], runs["constant_cls_loss"])]]
    assert sorted(set(flagged["arch"])) == ["r0_sp53-coarsest", "u056", "u138"] and len(flagged) == 6, flagged[["arch", "AP50"]]
    assert flagged["AP"].max() < 0.012 and runs.loc[~runs.index.isin(flagged.index), "AP50"].min() > CHANCE_FACTOR * chance
