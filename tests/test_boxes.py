import math

import pytest
import torch

from proxy_tasks.boxes import batched_nms, box_iou, decode, encode, has_torchvision_nms, nms_torch


def test_iou_by_hand():
    a = torch.tensor([[0.0, 0, 10, 10]])
    b = torch.tensor([[5.0, 5, 15, 15], [0, 0, 10, 10], [20, 20, 30, 30]])
    # overlap 5x5 = 25, union 100 + 100 - 25 = 175
    torch.testing.assert_close(box_iou(a, b), torch.tensor([[25 / 175, 1.0, 0.0]]))


def test_encode_by_hand_and_round_trip():
    anchor = torch.tensor([[0.0, 0, 20, 10]])  # centre (10, 5), 20 x 10
    box = torch.tensor([[5.0, 0, 45, 20]])  # centre (25, 10), 40 x 20
    d = encode(box, anchor)
    torch.testing.assert_close(d, torch.tensor([[15 / 20, 5 / 10, math.log(2), math.log(2)]]))
    torch.testing.assert_close(decode(d, anchor), box)
    g = torch.Generator().manual_seed(0)
    anchors = torch.rand(50, 2, generator=g) * 100
    anchors = torch.cat([anchors, anchors + 1 + torch.rand(50, 2, generator=g) * 50], 1)
    boxes = torch.cat([anchors[:, :2] + 3, anchors[:, 2:] + 7], 1)
    torch.testing.assert_close(decode(encode(boxes, anchors), anchors), boxes, rtol=1e-5, atol=1e-4)


def brute_force_nms(boxes, scores, labels, thr):
    """Reference: greedy NMS written the slow, obvious way."""
    order = sorted(range(len(scores)), key=lambda i: -float(scores[i]))
    keep = []
    for i in order:
        if all(labels[i] != labels[j] or box_iou(boxes[i : i + 1], boxes[j : j + 1]).item() <= thr for j in keep):
            keep.append(i)
    return keep


def random_boxes(n, seed):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * 80
    wh = 5 + torch.rand(n, 2, generator=g) * 30
    return torch.cat([xy, xy + wh], 1), torch.rand(n, generator=g), torch.randint(0, 3, (n,), generator=g)


@pytest.mark.parametrize("seed", range(5))
def test_pure_torch_nms_matches_reference(seed):
    boxes, scores, labels = random_boxes(120, seed)
    assert nms_torch(boxes, scores, labels, 0.5).tolist() == brute_force_nms(boxes, scores, labels, 0.5)
    assert nms_torch(boxes, scores, labels, 0.5, max_keep=7).tolist() == brute_force_nms(boxes, scores, labels, 0.5)[:7]


def test_classes_do_not_suppress_each_other():
    boxes = torch.tensor([[0.0, 0, 10, 10], [0, 0, 10, 10]])
    assert sorted(nms_torch(boxes, torch.tensor([0.9, 0.8]), torch.tensor([0, 1]), 0.5).tolist()) == [0, 1]
    assert nms_torch(boxes, torch.tensor([0.9, 0.8]), torch.tensor([1, 1]), 0.5).tolist() == [0]



@pytest.mark.skipif(not has_torchvision_nms(), reason="torchvision does not import with this CPU torch (PyPI's is a CUDA build): its NMS kernel path runs only where it does")
def test_torchvision_kernel_keeps_the_same_boxes_as_pure_torch():
    for seed in range(5):
        g = torch.Generator().manual_seed(seed)
        xy = torch.rand(300, 2, generator=g) * 80
        wh = 5 + torch.rand(300, 2, generator=g) * 30
        boxes, scores, labels = torch.cat([xy, xy + wh], 1), torch.rand(300, generator=g), torch.randint(0, 3, (300,), generator=g)
        assert batched_nms(boxes, scores, labels, 0.5).tolist() == nms_torch(boxes, scores, labels, 0.5).tolist(), seed
