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
- **AP50 no better than an image-independent detector's** (`chance_ap50`, `CHANCE_FACTOR`): the
  untrained detector makes no detections (AP50 0), but a detector can leave the class prior and
  still not look at the image: it learns where and how large objects tend to be (per anchor level,
  shape and position; that the padding below a landscape image is empty). On dense data that
  scores: BCCD's ~14 similar cells per image give such a detector an AP50 of a few hundredths,
  over any fixed line. The baseline here is the best detector of that kind we can write down from
  the training labels: every anchor scored by how often it is a positive of each class in the
  training set, boxed where its matched objects were on average, the same detections on every
  validation image, through the run's own post-processing and pycocotools. A run whose AP50 is not
  clearly above it (or above `PLATEAU_AP50`, whichever is higher) has learned nothing about the
  image.

`plateau_reason` returns why a run is on the plateau, or "" when it is not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import torch
from scipy.optimize import minimize_scalar

from proxy_tasks.boxes import batched_nms
from proxy_tasks.config import AnchorConfig, InferenceConfig, LossConfig
from proxy_tasks.data import CocoDataset
from proxy_tasks.retinanet import generate_anchors, match_anchors

PLATEAU_AP50 = 0.01  # AP50 under this: no better than a detector that predicts background everywhere
CHANCE_FACTOR = 1.5  # AP50 under this multiple of the image-independent detector's: the image was not looked at
CLS_MARGIN = 0.9  # a final classification loss above this share of the constant predictor's: still the prior


def anchor_counts(targets: Iterable[dict[str, torch.Tensor]], image_size: int, anchors: AnchorConfig, loss: LossConfig, num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Per class: positive (anchor, class) pairs and negative ones (valid anchors not positive for
    that class), over `targets` (boxes in input pixels) as `RetinaNet.loss` assigns them."""
    return anchor_prior(targets, image_size, anchors, loss, num_classes).counts()


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


@dataclass(frozen=True)
class AnchorPrior:
    """What the training labels say about each anchor without looking at any image: `rate[t, k]`
    the share of training images in which anchor t is a positive of class k, `box[t]` where its
    matched objects were on average (input pixels; the anchor itself where it never matched)."""

    rate: np.ndarray  # (T, K)
    box: np.ndarray  # (T, 4)
    positives: np.ndarray  # (K,) positive (anchor, class) pairs over the training targets
    valid: int  # anchors the loss does not ignore, summed over the training targets

    def counts(self) -> tuple[np.ndarray, np.ndarray]:
        """Per class: positive pairs and negative ones (valid anchors not positive for that class)."""
        return self.positives, self.valid - self.positives


def anchor_prior(targets: Iterable[dict[str, torch.Tensor]], image_size: int, anchors: AnchorConfig, loss: LossConfig, num_classes: int) -> AnchorPrior:
    """Per anchor and class, how often it is a positive over `targets`, as `RetinaNet.loss` assigns,
    with the positive and valid counts the constant predictor's loss is made from: one matching pass
    serves both plateau baselines."""
    grid = generate_anchors(image_size, anchors)
    hits = np.zeros((grid.shape[0], num_classes))
    box_sum, box_n = np.zeros((grid.shape[0], 4)), np.zeros(grid.shape[0])
    images = valid = 0
    for t in targets:
        images += 1
        matches = match_anchors(grid, t["boxes"], loss)
        valid += int((matches != -2).sum())
        positive = torch.nonzero(matches >= 0).squeeze(1)
        if positive.numel():
            gt = matches[positive]
            np.add.at(hits, (positive.numpy(), t["labels"][gt].numpy()), 1.0)
            box_sum[positive.numpy()] += t["boxes"][gt].numpy()
            box_n[positive.numpy()] += 1
    seen = box_n > 0
    box = grid.numpy().astype(float)
    box[seen] = box_sum[seen] / box_n[seen, None]
    return AnchorPrior(hits / max(images, 1), box, hits.sum(axis=0), valid)


def image_independent_ap50(prior: AnchorPrior, val: CocoDataset, scales: Sequence[float] | np.ndarray, image_size: int, anchors: AnchorConfig, inference: InferenceConfig) -> float:
    """COCO AP50 on `val` of the detector that puts the same detections on every image: each
    (anchor, class) scored by `prior.rate`, boxed at `prior.box`, then the run's own post-processing
    (top-k per level, class-wise NMS, at most `max_detections`); no score threshold, so the
    baseline is as strong as its ranking allows."""
    from proxy_tasks.evaluate import coco_metrics, to_coco_results

    k = prior.rate.shape[1]
    boxes, scores, labels = [], [], []
    start = 0
    for level in anchors.levels:
        size = math.ceil(image_size / 2**level) ** 2 * anchors.num_anchors
        rate = prior.rate[start : start + size].reshape(-1)
        keep = np.nonzero(rate > 0)[0]
        keep = keep[np.argsort(-rate[keep], kind="stable")[: inference.topk_per_level]]
        boxes.append(prior.box[start + keep // k])
        scores.append(rate[keep])
        labels.append(keep % k)
        start += size
    b, sc, lab = (torch.as_tensor(np.concatenate(x)) for x in (boxes, scores, labels))
    if not len(sc):
        return 0.0
    kept = batched_nms(b.float(), sc.float(), lab, inference.nms_iou, inference.max_detections).numpy()
    b, sc, lab = b.numpy()[kept], sc.numpy()[kept], lab.numpy()[kept]
    results = [d for rec, scale in zip(val.images, scales) for d in to_coco_results(rec.id, b, sc, lab, float(scale), val.category_ids)]
    return coco_metrics(val.coco, results, image_ids=[r.id for r in val.images])["AP50"]


def plateau_reason(ap50: float, final_cls_loss: float, constant: float, chance_ap50: float = 0.0) -> str:
    """Why a finished run is on the background-only plateau, or learned nothing about the image
    ("" when it did): `chance_ap50` is the image-independent detector's (`image_independent_ap50`)."""
    # 1.5x the image-independent detector, but never more than half-way from it to a perfect 1.0:
    # on data where position says a lot (centred objects) 1.5x could exceed what any run can reach.
    line = max(PLATEAU_AP50, min(CHANCE_FACTOR * chance_ap50, (1 + chance_ap50) / 2)) if math.isfinite(chance_ap50) else PLATEAU_AP50
    if math.isfinite(ap50) and ap50 < line:
        if line > PLATEAU_AP50:
            return f"AP50 {ap50:.3f} < {line:.3f} ({CHANCE_FACTOR:g} x {chance_ap50:.3f}, an image-independent detector's, at most half-way to 1): the image was not looked at"
        return f"AP50 {ap50:.3f} < {PLATEAU_AP50}: no better than background everywhere"
    if math.isfinite(final_cls_loss) and math.isfinite(constant) and final_cls_loss > CLS_MARGIN * constant:
        return f"classification loss {final_cls_loss:.3f} not below {CLS_MARGIN:g} x the constant predictor's {constant:.3f}: the class prior only"
    return ""
