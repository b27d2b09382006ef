import math

import pytest
import torch

from proxy_tasks.boxes import encode
from search_space.catalog import BackboneConfig
from proxy_tasks.config import AnchorConfig, DetectorConfig, LossConfig
from proxy_tasks.retinanet import build_detector, focal_loss, generate_anchors, match_anchors
from search_space import get_architecture


def test_anchors_by_hand():
    cfg = AnchorConfig(anchor_size=3.0)
    a = generate_anchors(128, cfg)
    assert a.shape == (sum((128 // 2**lv) ** 2 for lv in range(3, 8)) * 9, 4)
    # First L3 location: centre (4, 4); scale 2^0, ratio 0.5: w = 24 * sqrt(.5), h = 24 / sqrt(.5).
    w, h = 24 * math.sqrt(0.5), 24 / math.sqrt(0.5)
    torch.testing.assert_close(a[0], torch.tensor([4 - w / 2, 4 - h / 2, 4 + w / 2, 4 + h / 2]))
    # Anchor 4 of that location: scale 2^(1/3), ratio 1 -> square of side 24 * 2^(1/3).
    s = 24 * 2 ** (1 / 3)
    torch.testing.assert_close(a[4], torch.tensor([4 - s / 2, 4 - s / 2, 4 + s / 2, 4 + s / 2]))
    # Second location moves right by one stride (row-major over y, x).
    torch.testing.assert_close(a[9] - a[0], torch.tensor([8.0, 0, 8, 0]))
    # The single L7 location: centre (64, 64), base 3 * 128.
    torch.testing.assert_close(a[-8], torch.tensor([64 - 192.0, 64 - 192, 64 + 192, 64 + 192]))  # scale 1, ratio 1
    l7 = a[-9:]
    assert torch.allclose((l7[:, :2] + l7[:, 2:]) / 2, torch.tensor(64.0))


def test_matching_rules():
    anchors = torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 12], [0, 0, 10, 16], [50, 50, 60, 60], [0, 0, 10, 40]])
    gt = torch.tensor([[0.0, 0, 10, 10], [100, 100, 140, 140]])
    m = match_anchors(anchors, gt, LossConfig())
    # IoU 1, 10/12 and 10/16 match; 0 and .25 are background; box 1 overlaps no anchor and
    # must not steal one through the forced match.
    assert m.tolist() == [0, 0, 0, -1, -1]
    anchors2 = torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 22], [60, 60, 70, 70]])
    m2 = match_anchors(anchors2, torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 5]]), LossConfig())
    # anchor 1: IoU .4545 with box 0 -> ignored (-2); box 1's best anchor is 0 but forced: 0 -> box 1.
    assert m2.tolist() == [1, -2, -1]
    assert match_anchors(anchors, torch.zeros(0, 4), LossConfig()).tolist() == [-1] * 5


def test_focal_loss_by_hand():
    logits, targets = torch.tensor([0.0, 2.0]), torch.tensor([1.0, 0.0])
    got = focal_loss(logits, targets, alpha=0.25, gamma=2.0)
    p1, p2 = 0.5, 1 / (1 + math.exp(-2))
    want = [0.25 * (1 - p1) ** 2 * -math.log(p1), 0.75 * p2**2 * -math.log(1 - p2)]
    torch.testing.assert_close(got, torch.tensor(want))


@pytest.fixture(scope="module")
def detector():
    cfg = DetectorConfig(BackboneConfig(0.25, 0.25, endpoints_num_filters=16), head_filters=16, head_convs=2)
    torch.manual_seed(0)
    return build_detector(get_architecture("spinenet49"), 4, cfg)


def test_output_layout_matches_anchors(detector):
    cls, box = detector(torch.randn(2, 3, 128, 128))
    n_anchors = detector.anchors(128, torch.device("cpu")).shape[0]
    assert cls.shape == (2, n_anchors, 4) and box.shape == (2, n_anchors, 4)


def test_detect_recovers_encoded_boxes(detector):
    anchors = detector.anchors(128, torch.device("cpu"))
    gt = torch.tensor([[10.0, 12, 50, 40], [60, 60, 120, 126]])
    m = match_anchors(anchors, gt, detector.loss_cfg)
    cls = torch.full((1, anchors.shape[0], 4), -10.0)
    box = torch.zeros(1, anchors.shape[0], 4)
    pos = m >= 0
    cls[0, pos, torch.tensor([2, 3])[m[pos]]] = 4.0
    box[0, pos] = encode(gt[m[pos]], anchors[pos])
    det = detector.detect(cls, box, 128)[0]
    assert det["labels"].tolist() == [2, 3] or sorted(det["labels"].tolist()) == [2, 3]
    order = det["labels"].argsort()
    torch.testing.assert_close(det["boxes"][order], gt, atol=1e-3, rtol=0)


def test_loss_is_finite_and_positive(detector):
    cls, box = detector(torch.randn(2, 3, 128, 128))
    targets = [
        {"boxes": torch.tensor([[10.0, 10, 40, 40]]), "labels": torch.tensor([1])},
        {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.long)},
    ]
    out = detector.loss(cls, box, targets, 128)
    assert torch.isfinite(out["loss"]) and out["cls_loss"] > 0 and out["box_loss"] > 0
    out["loss"].backward()
