"""What a dataset holds, for choosing a proxy: images, boxes per class, box sizes relative to the
image, image sizes, and how large the boxes come out at each candidate input size.

Box size is measured as sqrt(box area / image area) (the side of a square box of the same area,
as a share of the image's side), which carries over to any input size: at input size S a box of
relative size r is about r * S pixels (the longer image side is resized to S).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from proxy_tasks.data import CocoDataset

SIZE_BINS = (0.0, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.01)  # relative box size histogram edges
INPUT_SIZES = (128, 256, 384, 512, 640)
SMALL_PX = 8  # a box under this many input pixels is below the finest level's stride (P3)


@dataclass
class SplitStats:
    """The numbers of one split."""

    images: int
    images_without_boxes: int
    boxes: int
    crowd: int  # VOC `difficult`, COCO `iscrowd`: ignored in training and evaluation
    boxes_per_class: dict[str, int]
    boxes_per_image: dict[str, float]  # mean, median, max
    image_width: dict[str, float]  # min, median, max
    image_height: dict[str, float]
    aspect_ratios: dict[str, float]  # box width / height: p10, median, p90
    relative_size: dict[str, float]  # p10, median, p90 of sqrt(box area / image area)
    size_histogram: list[int]  # boxes per SIZE_BINS interval
    at_input_size: dict[int, dict[str, float]] = field(default_factory=dict)  # S -> median px, share under SMALL_PX
    dropped_boxes: dict[str, int] = field(default_factory=dict)  # label file -> empty or sub-pixel boxes left out (proxy.data.bad_boxes=drop)
    dropped_images: dict[str, str] = field(default_factory=dict)  # image file -> why it was left out with its boxes (proxy.data.bad_images=drop)


def split_stats(ds: CocoDataset) -> SplitStats:
    """Statistics of one split (training boxes; crowd boxes counted apart)."""
    names = ds.category_names
    per_class = {n: 0 for n in names}
    rel, aspect, counts = [], [], []
    for rec in ds.images:
        counts.append(len(rec.boxes))
        for box, label in zip(rec.boxes, rec.labels):
            per_class[names[int(label)]] += 1
            w, h = float(box[2] - box[0]), float(box[3] - box[1])
            rel.append(np.sqrt(w * h / (rec.width * rec.height)))
            aspect.append(w / h)
    widths = np.array([r.width for r in ds.images], dtype=float)
    heights = np.array([r.height for r in ds.images], dtype=float)
    rel_a = np.array(rel, dtype=float)
    # The longer side goes to S: a box of relative size r is r * sqrt(W H) / max(W, H) * S pixels.
    fit = np.concatenate([np.full(len(r.boxes), np.sqrt(r.width * r.height) / max(r.width, r.height)) for r in ds.images]) if rel else np.zeros(0)
    at_size = {}
    for s in INPUT_SIZES:
        px = rel_a * fit * s
        at_size[s] = {"median_px": float(np.median(px)) if len(px) else 0.0, "share_under_small": float(np.mean(px < SMALL_PX)) if len(px) else 0.0}
    crowd = sum(1 for a in ds.coco["annotations"] if a.get("iscrowd") and a["image_id"] in {r.id for r in ds.images})
    return SplitStats(
        dropped_boxes=dict(ds.dropped_boxes),
        dropped_images=dict(ds.dropped_images),
        images=len(ds.images),
        images_without_boxes=sum(c == 0 for c in counts),
        boxes=int(sum(counts)),
        crowd=crowd,
        boxes_per_class=per_class,
        boxes_per_image=_spread(np.array(counts, dtype=float), ("mean", "median", "max")),
        image_width=_spread(widths, ("min", "median", "max")),
        image_height=_spread(heights, ("min", "median", "max")),
        aspect_ratios=_spread(np.array(aspect, dtype=float), ("p10", "median", "p90")),
        relative_size=_spread(rel_a, ("p10", "median", "p90")),
        size_histogram=np.histogram(rel_a, bins=SIZE_BINS)[0].astype(int).tolist(),
        at_input_size=at_size,
    )


def _spread(values: np.ndarray, keys: Sequence[str]) -> dict[str, float]:
    if not len(values):
        return {k: 0.0 for k in keys}
    fns: dict[str, Callable[[np.ndarray], Any]] = {
        "min": np.min, "max": np.max, "mean": np.mean, "median": np.median, "p10": lambda v: np.percentile(v, 10), "p90": lambda v: np.percentile(v, 90),
    }  # fmt: skip
    return {k: float(fns[k](values)) for k in keys}


def dropped_summary(dropped: dict[str, int], files: int = 5) -> str:
    """`N empty or sub-pixel boxes dropped: a.xml (1), b.xml (2), ...` (the first `files` files)."""
    items = sorted(dropped.items())
    named = ", ".join(f"{path} ({n})" for path, n in items[:files]) + (f", and {len(items) - files} more files" if len(items) > files else "")
    return f"{sum(dropped.values())} empty or sub-pixel boxes dropped (proxy.data.bad_boxes=drop): {named}"


def dropped_images_summary(dropped: dict[str, str], files: int = 5) -> str:
    """`N undecodable or truncated images dropped with their boxes: a.jpg (truncated), ...`."""
    items = sorted(dropped.items())
    named = ", ".join(f"{path} ({why})" for path, why in items[:files]) + (f", and {len(items) - files} more" if len(items) > files else "")
    return f"{len(items)} undecodable or truncated images dropped with their boxes (proxy.data.bad_images=drop): {named}"


def dropped_lines(train: CocoDataset, val: CocoDataset) -> list[str]:
    """What the readers left out of both splits, a line per kind (empty when nothing was)."""
    boxes = {**train.dropped_boxes, **val.dropped_boxes}
    images = {**train.dropped_images, **val.dropped_images}
    return ([dropped_summary(boxes)] if boxes else []) + ([dropped_images_summary(images)] if images else [])


def dataset_stats(train: CocoDataset, val: CocoDataset, source: str) -> dict[str, Any]:
    """Both splits' statistics as one JSON-ready dict."""
    return {"source": source, "classes": list(train.category_names), "train": asdict(split_stats(train)), "val": asdict(split_stats(val))}


def format_stats(stats: dict[str, Any], width: int = 40) -> str:
    """The report `spinenas data stats` prints: counts, a histogram of relative box sizes, image
    sizes, and the boxes' size in pixels at each candidate input size."""
    tr, va = stats["train"], stats["val"]
    lines = [
        f"dataset: {stats['source']}",
        f"classes: {len(stats['classes'])} ({', '.join(stats['classes'])})",
        f"{'':<24}{'train':>10}{'val':>10}",
        f"{'images':<24}{tr['images']:>10}{va['images']:>10}",
        f"{'  without boxes':<24}{tr['images_without_boxes']:>10}{va['images_without_boxes']:>10}",
        f"{'boxes':<24}{tr['boxes']:>10}{va['boxes']:>10}",
        f"{'  crowd/difficult':<24}{tr['crowd']:>10}{va['crowd']:>10}",
    ]
    lines += [f"{'  ' + name:<24}{tr['boxes_per_class'][name]:>10}{va['boxes_per_class'].get(name, 0):>10}" for name in stats["classes"]]
    dropped = {**tr.get("dropped_boxes", {}), **va.get("dropped_boxes", {})}
    if dropped:
        lines.append(f"{'  dropped (bad_boxes)':<24}{sum(tr['dropped_boxes'].values()):>10}{sum(va['dropped_boxes'].values()):>10}")
        lines.append("    " + dropped_summary(dropped))
    images = {**tr.get("dropped_images", {}), **va.get("dropped_images", {})}
    if images:
        lines.append(f"{'  dropped (bad_images)':<24}{len(tr['dropped_images']):>10}{len(va['dropped_images']):>10}")
        lines.append("    " + dropped_images_summary(images))
    b = tr["boxes_per_image"]
    lines.append(f"{'boxes per image':<24}mean {b['mean']:.1f}, median {b['median']:.0f}, max {b['max']:.0f} (train)")
    w, h = tr["image_width"], tr["image_height"]
    lines.append(f"{'image width':<24}{w['min']:.0f} .. {w['median']:.0f} .. {w['max']:.0f} px (min .. median .. max)")
    lines.append(f"{'image height':<24}{h['min']:.0f} .. {h['median']:.0f} .. {h['max']:.0f} px")
    a = tr["aspect_ratios"]
    lines.append(f"{'box aspect (w/h)':<24}{a['p10']:.2f} .. {a['median']:.2f} .. {a['p90']:.2f} (10th .. median .. 90th percentile)")
    r = tr["relative_size"]
    lines += ["", f"box size relative to the image, sqrt(box area / image area) (train): 10th {r['p10']:.3f}, median {r['median']:.3f}, 90th {r['p90']:.3f}"]
    hist = tr["size_histogram"]
    top = max(hist) or 1
    for k, n in enumerate(hist):
        lo, hi = SIZE_BINS[k], min(SIZE_BINS[k + 1], 1.0)
        lines.append(f"  {lo:4.2f}-{hi:4.2f} {n:>7} {'#' * round(width * n / top)}")
    lines += ["", f"at input size S (longer side resized to S): median box side in pixels, share of boxes under {SMALL_PX} px (finer than P3's stride)"]
    for s, v in tr["at_input_size"].items():
        lines.append(f"  S={int(s):<4} median {v['median_px']:6.1f} px, under {SMALL_PX} px: {100 * v['share_under_small']:5.1f}%")
    return "\n".join(lines)
