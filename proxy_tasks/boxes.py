"""Box geometry: IoU, anchor-relative coding and non-maximum suppression (boxes are x1, y1, x2, y2)."""

from __future__ import annotations

import math

import numpy as np
import torch

BBOX_CLIP = math.log(1000.0 / 16)  # largest log-scale change decoded (as torchvision and detectron)

try:  # torchvision's NMS kernel where it imports; the CPU build here has none
    from torchvision.ops import batched_nms as _tv_batched_nms
except Exception:  # noqa: BLE001 - any import failure means: use the pure-torch path
    _tv_batched_nms = None


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """Area of each box, (N,)."""
    return (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise IoU, (N, M)."""
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return inter / union.clamp(min=1e-9)


def encode(boxes: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """Offsets (dx, dy, dw, dh) of `boxes` relative to `anchors`, both (N, 4)."""
    aw, ah = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    ax, ay = anchors[:, 0] + 0.5 * aw, anchors[:, 1] + 0.5 * ah
    bw, bh = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    bx, by = boxes[:, 0] + 0.5 * bw, boxes[:, 1] + 0.5 * bh
    return torch.stack([(bx - ax) / aw, (by - ay) / ah, torch.log(bw / aw), torch.log(bh / ah)], dim=1)


def decode(deltas: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """Boxes from offsets `deltas` relative to `anchors`, both (N, 4); inverse of `encode`."""
    aw, ah = anchors[:, 2] - anchors[:, 0], anchors[:, 3] - anchors[:, 1]
    ax, ay = anchors[:, 0] + 0.5 * aw, anchors[:, 1] + 0.5 * ah
    dx, dy = deltas[:, 0], deltas[:, 1]
    dw, dh = deltas[:, 2].clamp(max=BBOX_CLIP), deltas[:, 3].clamp(max=BBOX_CLIP)
    cx, cy = ax + dx * aw, ay + dy * ah
    w, h = aw * torch.exp(dw), ah * torch.exp(dh)
    return torch.stack([cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h], dim=1)


def nms_torch(
    boxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor, iou_threshold: float, max_keep: int | None = None
) -> torch.Tensor:
    """Class-wise greedy NMS in plain torch/numpy; indices of kept boxes by descending score.

    Boxes of different classes never suppress each other (they are shifted apart per class).
    With `max_keep`, stops once that many are kept: the result is the same prefix.
    """
    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.long, device=boxes.device)
    order = torch.argsort(scores, descending=True, stable=True)
    ranked = boxes[order].double().cpu()
    b = (ranked + (labels[order].double().cpu() * (ranked.max() + 1))[:, None]).numpy()
    area = (b[:, 2] - b[:, 0]).clip(0) * (b[:, 3] - b[:, 1]).clip(0)
    suppressed = np.zeros(len(b), dtype=bool)
    keep = []
    limit = max_keep if max_keep is not None else len(b)
    for i in range(len(b)):  # one vectorised IoU row per kept box: O(kept x n) time, O(n) memory
        if suppressed[i]:
            continue
        keep.append(i)
        if len(keep) >= limit:
            break
        w = (np.minimum(b[i, 2], b[:, 2]) - np.maximum(b[i, 0], b[:, 0])).clip(0)
        h = (np.minimum(b[i, 3], b[:, 3]) - np.maximum(b[i, 1], b[:, 1])).clip(0)
        inter = w * h
        suppressed |= inter / np.maximum(area[i] + area - inter, 1e-9) > iou_threshold
    return order[torch.as_tensor(keep, dtype=torch.long, device=boxes.device)]


def batched_nms(
    boxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor, iou_threshold: float, max_keep: int | None = None
) -> torch.Tensor:
    """Class-wise NMS: torchvision's kernel when it imports, `nms_torch` otherwise."""
    if _tv_batched_nms is not None:
        keep = _tv_batched_nms(boxes.float(), scores.float(), labels, iou_threshold)
        return keep[:max_keep] if max_keep is not None else keep
    return nms_torch(boxes, scores, labels, iou_threshold, max_keep)


def has_torchvision_nms() -> bool:
    """Whether `batched_nms` uses torchvision's kernel."""
    return _tv_batched_nms is not None
