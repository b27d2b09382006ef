"""COCO box AP with the reference evaluator (pycocotools) or faster-coco-eval (same numbers)."""

from __future__ import annotations

import contextlib
import copy
import io
from typing import Any, Sequence

import numpy as np

from search_space.errors import InputError

METRICS: tuple[str, ...] = ("AP", "AP50", "AP75", "APs", "APm", "APl")
BACKENDS: tuple[str, ...] = ("pycocotools", "faster_coco_eval")


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
