"""COCO box AP of a detector on a cached dataset, with the reference evaluator (pycocotools) or
faster-coco-eval (same numbers)."""

from __future__ import annotations

import contextlib
import copy
import io
from typing import Any, Sequence

import numpy as np
import torch

from proxy_tasks.cache import ImageCache
from proxy_tasks.config import BACKENDS
from proxy_tasks.data import CocoDataset
from proxy_tasks.loader import BatchLoader, normalize
from proxy_tasks.retinanet import RetinaNet
from proxy_tasks.train import autocast
from search_space.errors import InputError

METRICS: tuple[str, ...] = ("AP", "AP50", "AP75", "APs", "APm", "APl")



def coco_metrics(
    gt: dict[str, Any],
    detections: Sequence[dict[str, Any]],
    backend: str = "pycocotools",
    image_ids: Sequence[int] | None = None,
) -> dict[str, float]:
    """AP, AP50, AP75, APs, APm, APl (in [0, 1]; -1 where an area range has no objects).

    Args:
        gt: a COCO annotation dict (images, annotations, categories).
        detections: COCO results: image_id, category_id, bbox [x, y, w, h] in original pixels, score.
        backend: "pycocotools" (the reference) or "faster_coco_eval".
        image_ids: evaluate on these images only (default: all images of `gt`).
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown evaluation backend {backend!r}; valid: {', '.join(BACKENDS)}")
    ids = list(image_ids) if image_ids is not None else [img["id"] for img in gt["images"]]
    if not detections:
        return {k: 0.0 for k in METRICS}
    if backend == "pycocotools":
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval as Eval
    else:
        try:
            from faster_coco_eval import COCO
            from faster_coco_eval import COCOeval_faster as Eval
        except ImportError:
            raise InputError("backend faster_coco_eval needs `pip install faster-coco-eval`") from None
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(dict(gt))
        coco_gt.dataset.setdefault("info", {})
        coco_gt.dataset.setdefault("licenses", [])
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes([dict(d) for d in detections])
        ev = Eval(coco_gt, coco_dt, "bbox")
        ev.params.imgIds = ids
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    stats = np.asarray(ev.stats[:6], dtype=float)
    return {k: float(v) for k, v in zip(METRICS, stats)}


def to_coco_results(
    image_id: int, boxes: np.ndarray, scores: np.ndarray, labels: np.ndarray, scale: float, category_ids: Sequence[int]
) -> list[dict[str, Any]]:
    """Detections in input pixels (x1, y1, x2, y2) -> COCO results in original pixels."""
    out = []
    for (x1, y1, x2, y2), s, lab in zip(boxes / scale, scores, labels):
        out.append(
            {
                "image_id": int(image_id),
                "category_id": int(category_ids[int(lab)]),
                "bbox": [float(x1), float(y1), float(x2 - x1), float(y2 - y1)],
                "score": float(s),
            }
        )
    return out


@torch.no_grad()
def detections_of(
    model: RetinaNet,
    ds: CocoDataset,
    cache: ImageCache,
    *,
    batch_size: int,
    device: torch.device,
    channels_last: bool = False,
    amp: str = "auto",
    images: int | None = None,
) -> list[dict[str, Any]]:
    """`model`'s detections on the first `images` images of a cached dataset (None: every image), as
    COCO results in original pixels."""
    model.eval()
    loader = BatchLoader(cache, ds.images[:images], batch_size, train=False, prefetch=2, pin_memory=device.type == "cuda")
    results = []
    for batch in loader:
        batch = batch.to(device)
        with autocast(device, amp):
            cls, box = model(normalize(batch.images, channels_last))
        for i, det in zip(batch.indices, model.detect(cls, box, cache.size)):
            rec = ds.images[i]
            results += to_coco_results(
                rec.id,
                det["boxes"].cpu().numpy(),
                det["scores"].cpu().numpy(),
                det["labels"].cpu().numpy(),
                float(cache.scales[i]),
                ds.category_ids,
            )
    return results


def evaluate_model(
    model: RetinaNet, ds: CocoDataset, cache: ImageCache, *, batch_size: int, device: torch.device, channels_last: bool = False,
    backend: str = "pycocotools", amp: str = "auto", images: int | None = None,
) -> dict[str, float]:  # fmt: skip
    """COCO metrics of `model` on a cached dataset, or on its first `images` images (detections
    mapped back to original pixels)."""
    results = detections_of(model, ds, cache, batch_size=batch_size, device=device, channels_last=channels_last, amp=amp, images=images)
    return coco_metrics(ds.coco, results, backend, [r.id for r in ds.images[:images]])
