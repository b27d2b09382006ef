"""RetinaNet on any backbone of `search_space`: anchors, matching, focal loss, inference.

Shapes: N images, T anchors over all levels, K classes, G ground-truth boxes of one image.
Anchors are ordered level, then row, then column, then (scale, ratio), which is the order in
which the head's `(N, A*K, H, W)` maps flatten after moving channels last.
"""

from __future__ import annotations

import math
from dataclasses import asdict

import torch
import torch.nn.functional as F
from torch import nn

from proxy_tasks.config import AnchorConfig, DetectorConfig, InferenceConfig, LossConfig
from proxy_tasks.boxes import batched_nms, box_iou, decode, encode
from search_space.builder import Backbone, build_backbone
from search_space.head import RetinaNetHead
from search_space.spec import Architecture


def generate_anchors(image_size: int, cfg: AnchorConfig, device: torch.device | str = "cpu") -> torch.Tensor:
    """All anchors for a square image, (T, 4) in pixels, centred at (x + 0.5) * stride."""
    out = []
    for level in cfg.levels:
        stride = 2**level
        n = math.ceil(image_size / stride)
        sizes = []
        for s in range(cfg.num_scales):
            base = cfg.anchor_size * stride * 2 ** (s / cfg.num_scales)
            for r in cfg.aspect_ratios:
                sizes.append((base * math.sqrt(r), base / math.sqrt(r)))
        wh = torch.tensor(sizes, dtype=torch.float32, device=device)  # (A, 2)
        centres = (torch.arange(n, dtype=torch.float32, device=device) + 0.5) * stride
        cy, cx = torch.meshgrid(centres, centres, indexing="ij")
        c = torch.stack([cx, cy], dim=-1).reshape(-1, 1, 2)  # (HW, 1, 2)
        boxes = torch.cat([c - wh / 2, c + wh / 2], dim=-1)  # (HW, A, 4)
        out.append(boxes.reshape(-1, 4))
    return torch.cat(out)


def match_anchors(anchors: torch.Tensor, gt: torch.Tensor, cfg: LossConfig) -> torch.Tensor:
    """Per anchor: index of its ground-truth box (>= 0), -1 background, -2 ignored.

    IoU >= positive_iou is a match, < negative_iou background, in between ignored; every box also
    keeps its best anchor (forced match), so that tiny or oddly shaped objects are learned.
    """
    t = anchors.shape[0]
    if gt.numel() == 0:
        return torch.full((t,), -1, dtype=torch.long, device=anchors.device)
    iou = box_iou(anchors, gt)  # (T, G)
    best_iou, best_gt = iou.max(dim=1)
    matches = torch.where(best_iou >= cfg.positive_iou, best_gt, torch.full_like(best_gt, -2))
    matches[best_iou < cfg.negative_iou] = -1
    best_anchor_iou, forced = iou.max(dim=0)  # (G,) best anchor of each box
    has = best_anchor_iou > 0  # a box that overlaps no anchor cannot claim one
    matches[forced[has]] = torch.arange(gt.shape[0], device=anchors.device)[has]
    return matches


def focal_loss(logits: torch.Tensor, targets: torch.Tensor, alpha: float, gamma: float) -> torch.Tensor:
    """Sigmoid focal loss per element (summed by the caller)."""
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = p * targets + (1 - p) * (1 - targets)
    weight = alpha * targets + (1 - alpha) * (1 - targets)
    return weight * (1 - p_t).pow(gamma) * ce


class RetinaNet(nn.Module):
    """Backbone + shared head; `loss` for training and `detect` for inference."""

    def __init__(self, backbone: Backbone, head: RetinaNetHead, anchors: AnchorConfig, loss: LossConfig, inference: InferenceConfig) -> None:
        super().__init__()
        self.backbone, self.head = backbone, head
        self.anchor_cfg, self.loss_cfg, self.inference_cfg = anchors, loss, inference
        self.num_classes = head.num_classes
        self._anchors: dict[tuple[int, str], torch.Tensor] = {}

    def anchors(self, image_size: int, device: torch.device) -> torch.Tensor:
        """Cached anchors for a square input on `device`."""
        key = (image_size, str(device))
        if key not in self._anchors:
            self._anchors[key] = generate_anchors(image_size, self.anchor_cfg, device)
        return self._anchors[key]

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Class logits (N, T, K) and box offsets (N, T, 4) over all levels."""
        cls, box = self.head(self.backbone(images))
        n = images.shape[0]
        cls_flat = [cls[lv].permute(0, 2, 3, 1).reshape(n, -1, self.num_classes) for lv in sorted(cls)]
        box_flat = [box[lv].permute(0, 2, 3, 1).reshape(n, -1, 4) for lv in sorted(box)]
        return torch.cat(cls_flat, 1), torch.cat(box_flat, 1)

    def loss(
        self, cls: torch.Tensor, box: torch.Tensor, targets: list[dict[str, torch.Tensor]], image_size: int
    ) -> dict[str, torch.Tensor]:
        """Focal + weighted Huber loss, both normalised by the number of positive anchors in the batch."""
        cfg = self.loss_cfg
        anchors = self.anchors(image_size, cls.device)
        cls, box = cls.float(), box.float()
        cls_targets = torch.zeros_like(cls)
        valid = torch.ones(cls.shape[:2], dtype=torch.bool, device=cls.device)
        box_loss = cls.new_zeros(())
        num_pos = 0
        for i, t in enumerate(targets):
            matches = match_anchors(anchors, t["boxes"], cfg)
            pos = matches >= 0
            valid[i] = matches != -2
            if pos.any():
                gt = matches[pos]
                cls_targets[i, pos, t["labels"][gt]] = 1.0
                target_deltas = encode(t["boxes"][gt], anchors[pos])
                box_loss = box_loss + F.huber_loss(box[i, pos], target_deltas, delta=cfg.huber_delta, reduction="sum")
                num_pos += int(pos.sum())
        norm = max(num_pos, 1)
        cls_loss = focal_loss(cls[valid], cls_targets[valid], cfg.focal_alpha, cfg.focal_gamma).sum() / norm
        box_loss = box_loss / (norm * 4)
        total = cls_loss + cfg.box_loss_weight * box_loss
        return {"loss": total, "cls_loss": cls_loss.detach(), "box_loss": box_loss.detach()}

    @torch.no_grad()
    def detect(self, cls: torch.Tensor, box: torch.Tensor, image_size: int) -> list[dict[str, torch.Tensor]]:
        """Per image: boxes (D, 4) in input pixels, scores (D,), labels (D,), D <= max_detections."""
        cfg = self.inference_cfg
        anchors = self.anchors(image_size, cls.device)
        sizes = [math.ceil(image_size / 2**lv) ** 2 * self.anchor_cfg.num_anchors for lv in self.anchor_cfg.levels]
        out = []
        for i in range(cls.shape[0]):
            all_boxes, all_scores, all_labels = [], [], []
            start = 0
            for size in sizes:
                logits = cls[i, start : start + size].float().flatten()  # (HWA*K,)
                scores = torch.sigmoid(logits)
                keep = torch.nonzero(scores > cfg.score_threshold).squeeze(1)
                if keep.numel() > cfg.topk_per_level:
                    keep = keep[scores[keep].topk(cfg.topk_per_level).indices]
                anchor_idx = start + keep // self.num_classes
                all_boxes.append(decode(box[i, anchor_idx].float(), anchors[anchor_idx]))
                all_scores.append(scores[keep])
                all_labels.append(keep % self.num_classes)
                start += size
            boxes = torch.cat(all_boxes).clamp(0, image_size)
            scores, labels = torch.cat(all_scores), torch.cat(all_labels)
            kept = batched_nms(boxes, scores, labels, cfg.nms_iou, cfg.max_detections)
            out.append({"boxes": boxes[kept], "scores": scores[kept], "labels": labels[kept]})
        return out


def build_detector(arch: Architecture, num_classes: int, cfg: DetectorConfig) -> RetinaNet:
    """A RetinaNet on `arch` scaled by `cfg`, with `num_classes` sigmoid classes."""
    backbone = build_backbone(arch, **asdict(cfg.backbone))
    head = RetinaNetHead(
        cfg.backbone.endpoints_num_filters,
        num_classes,
        num_filters=cfg.head_filters,
        num_convs=cfg.head_convs,
        num_anchors=cfg.anchors.num_anchors,
        levels=tuple(sorted(backbone.out_channels)),
        activation=cfg.backbone.activation,
        norm=cfg.backbone.norm,
    )
    return RetinaNet(backbone, head, cfg.anchors, cfg.loss, cfg.inference)
