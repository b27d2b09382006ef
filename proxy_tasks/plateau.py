"""Is a detector still on the background-only plateau? A rule that knows what that looks like.

A RetinaNet trained from scratch first learns the class prior: predict "background" everywhere,
with one constant probability per class. Its loss falls a long way while it does (from the focal
loss at the initial prior to the loss of the best constant), so "the loss fell" says nothing, and
its AP50 stays near zero. Two measurements tell a plateau run from a learning one:

- the **constant predictor's classification loss** on the data: the focal loss of the best constant
  probability per class over every anchor of the training set at the trained input size (positive,
  background and ignored anchors assigned exactly as the training loss assigns them), normalised
  by the positive anchors as the training loss is. A detector whose final classification loss is
  not clearly below it (`CLS_MARGIN`) has learned no more than the prior;
- **AP50 near zero** (`PLATEAU_AP50`): the untrained detector (prior 0.01 everywhere, under the
  0.05 score threshold) makes no detections, so a background-only detector scores ~0.

`plateau_reason` returns why a run is on the plateau, or "" when it is not.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np
import torch
from scipy.optimize import minimize_scalar

from proxy_tasks.config import AnchorConfig, LossConfig
from proxy_tasks.retinanet import generate_anchors, match_anchors

PLATEAU_AP50 = 0.01  # AP50 under this: no better than a detector that predicts background everywhere
CLS_MARGIN = 0.9  # a final classification loss above this share of the constant predictor's: still the prior


def anchor_counts(targets: Iterable[dict[str, torch.Tensor]], image_size: int, anchors: AnchorConfig, loss: LossConfig, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Per class: positive (anchor, class) pairs and negative ones (valid anchors not positive for
    that class), over `targets` (boxes in input pixels) as `RetinaNet.loss` assigns them."""
    grid = generate_anchors(image_size, anchors)
    pos = np.zeros(num_classes)
    valid_total = 0
    for t in targets:
        matches = match_anchors(grid, t["boxes"], loss)
        valid_total += int((matches != -2).sum())
        positive = matches >= 0
        if positive.any():
            pos += np.bincount(t["labels"][matches[positive]].numpy(), minlength=num_classes)[:num_classes]
    return pos, valid_total - pos


def constant_cls_loss(pos: np.ndarray, neg: np.ndarray, loss: LossConfig) -> float:
    """The focal loss of the best constant probability per class, summed over classes and divided
    by the positive anchors (as the training loss is normalised); NaN without positives."""
    total_pos = float(pos.sum())
    if total_pos == 0:
        return math.nan
    a, g = loss.focal_alpha, loss.focal_gamma

    def class_loss(logit: float, p_count: float, n_count: float) -> float:
        p = 1.0 / (1.0 + math.exp(-logit))
        return p_count * a * (1 - p) ** g * -math.log(max(p, 1e-300)) + n_count * (1 - a) * p**g * -math.log(max(1 - p, 1e-300))

    best = 0.0
    for p_count, n_count in zip(pos, neg):
        if p_count == 0:
            continue  # a class without positives is best predicted at probability 0: no loss
        best += float(minimize_scalar(lambda b: class_loss(b, p_count, n_count), bounds=(-30.0, 10.0), method="bounded").fun)
    return float(best / total_pos)  # a plain float: it goes into metrics, checkpoints (weights-only) and JSON


def plateau_reason(ap50: float, final_cls_loss: float, constant: float) -> str:
    """Why a finished run is on the background-only plateau ("" when it is not)."""
    if math.isfinite(ap50) and ap50 < PLATEAU_AP50:
        return f"AP50 {ap50:.3f} < {PLATEAU_AP50}: no better than background everywhere"
    if math.isfinite(final_cls_loss) and math.isfinite(constant) and final_cls_loss > CLS_MARGIN * constant:
        return f"classification loss {final_cls_loss:.3f} not below {CLS_MARGIN:g} x the constant predictor's {constant:.3f}: the class prior only"
    return ""
