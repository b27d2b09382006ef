"""COCO-format detection datasets: read, validate up front, map categories to contiguous labels.

Every problem in a user's dataset is reported as one `DatasetError` naming the file, the record
and the rule, before anything trains.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from search_space.errors import SpineNASError


class DatasetError(SpineNASError, ValueError):
    """A dataset breaks a rule; the message names the file, the record and the rule."""


class BadBoxError(DatasetError):
    """A box with no usable area: empty, or under `MIN_BOX_SIDE` pixels wide or high (real label
    sets have a few; `proxy.data.bad_boxes` says whether they stop the run or are dropped)."""


class BadImageError(DatasetError):
    """An image file Pillow cannot decode, or one cut short (published sets have a few;
    `proxy.data.bad_images` says whether they stop the run or are dropped with their boxes);
    `why` is "truncated" or "undecodable"."""

    def __init__(self, message: str, why: str) -> None:
        super().__init__(message)
        self.why = why


BAD_BOXES = ("drop", "error")  # proxy.data.bad_boxes: what an empty or sub-pixel box does
BAD_IMAGES = ("drop", "error")  # proxy.data.bad_images: what an undecodable or truncated image does
MIN_BOX_SIDE = 1.0  # pixels: a box narrower or lower than this is no object a detector can be taught


@dataclass(frozen=True)
class ImageRecord:
    """One image of the dataset and its training targets in original pixel coordinates."""

    id: int
    file_name: str
    width: int
    height: int
    boxes: np.ndarray  # (G, 4) float32 x1, y1, x2, y2, crowd boxes excluded
    labels: np.ndarray  # (G,) int64 contiguous labels


@dataclass(frozen=True)
class CocoDataset:
    """A validated COCO-format dataset (annotation file + image folder)."""

    ann_file: Path
    image_dir: Path
    images: tuple[ImageRecord, ...]
    category_ids: tuple[int, ...]  # label i <-> category_ids[i]
    category_names: tuple[str, ...]
    coco: dict[str, Any]  # the parsed annotation file (or what a reader made of VOC/YOLO/CSV labels), for the evaluator
    fingerprint: str = ""  # identifies the labels for the image cache ("": the annotation file's path, size and time)
    dropped_boxes: dict[str, int] = field(default_factory=dict)  # label file -> boxes dropped (proxy.data.bad_boxes=drop)
    dropped_images: dict[str, str] = field(default_factory=dict)  # image file -> why it was dropped with its boxes (proxy.data.bad_images=drop)
    max_pixels: int | None = None  # the largest image (width x height) its readers open (proxy.data.max_image_pixels; None: Pillow's limit)

    @property
    def num_boxes(self) -> int:
        return int(sum(len(r.boxes) for r in self.images))

    @property
    def num_classes(self) -> int:
        return len(self.category_ids)

    def image_path(self, record: ImageRecord) -> Path:
        """Path of an image file (file names may contain sub-folders)."""
        return self.image_dir / record.file_name


def load_coco(ann_file: str | os.PathLike[str], image_dir: str | os.PathLike[str], check_files: bool = True, bad_boxes: str = "error") -> CocoDataset:
    """Read and validate a COCO detection dataset; raise `DatasetError` on the first problem found.

    Args:
        ann_file: the annotation JSON.
        image_dir: folder the images' `file_name`s are relative to.
        check_files: also check that every image file exists (decoding is checked when cached).
    """
    ann_file = Path(ann_file)
    return coco_dataset(_read_annotation_file(ann_file), ann_file, image_dir, check_files, bad_boxes=bad_boxes)


def coco_dataset(
    data: dict[str, Any], ann_file: str | os.PathLike[str], image_dir: str | os.PathLike[str], check_files: bool = True, fingerprint: str = "",
    bad_boxes: str = "error", dropped: dict[str, int] | None = None,
) -> CocoDataset:
    """A COCO dict (images, annotations, categories) validated into a dataset; `ann_file` names it
    in messages (the readers of other label formats pass their own source, a `fingerprint` and the
    boxes they dropped). Empty or sub-pixel boxes are refused, or with `bad_boxes="drop"` left out
    and counted in `dropped_boxes`."""
    ann_file, image_dir = Path(ann_file), Path(image_dir)
    src = str(ann_file)
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise DatasetError(f"{src}: missing or non-list key '{key}' (COCO detection format)")
    if not image_dir.is_dir():
        raise DatasetError(f"{image_dir}: image folder not found (images of {src})")
    categories = _check_categories(data["categories"], src)
    cat_ids = tuple(sorted(categories))
    label_of = {cid: k for k, cid in enumerate(cat_ids)}
    images = _check_images(data["images"], src)
    boxes: dict[int, list[list[float]]] = {i: [] for i in images}
    labels: dict[int, list[int]] = {i: [] for i in images}
    seen: set[int] = set()
    dropped = dict(dropped or {})
    for k, a in enumerate(data["annotations"]):
        try:
            box = _check_annotation(a, k, src, images, categories, seen)
        except BadBoxError:
            if bad_boxes != "drop":
                raise
            dropped[src] = dropped.get(src, 0) + 1
            continue
        if box is not None:  # crowd regions are not training targets; COCOeval ignores matches to them
            boxes[a["image_id"]].append(box)
            labels[a["image_id"]].append(label_of[a["category_id"]])

    records = []
    for image_id, img in images.items():
        if check_files and not (image_dir / img["file_name"]).is_file():
            raise DatasetError(f"{src}: image {image_id}: file {image_dir / img['file_name']} is missing")
        records.append(
            ImageRecord(
                id=image_id,
                file_name=img["file_name"],
                width=int(img["width"]),
                height=int(img["height"]),
                boxes=np.asarray(boxes[image_id], dtype=np.float32).reshape(-1, 4),
                labels=np.asarray(labels[image_id], dtype=np.int64),
            )
        )
    if not records:
        raise DatasetError(f"{src}: has no images")
    category_names = tuple(str(categories[c]) for c in cat_ids)
    return CocoDataset(
        ann_file=ann_file, image_dir=image_dir, images=tuple(records), category_ids=cat_ids, category_names=category_names, coco=data,
        fingerprint=fingerprint, dropped_boxes=dropped,
    )  # fmt: skip


def _read_annotation_file(ann_file: Path) -> dict[str, Any]:
    """The annotation JSON, with the three COCO lists present."""
    src = str(ann_file)
    try:
        with open(ann_file, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise DatasetError(f"{src}: annotation file not found") from None
    except json.JSONDecodeError as e:
        raise DatasetError(f"{src}: not valid JSON at line {e.lineno}, column {e.colno}: {e.msg}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"{src}: cannot read annotation file ({e})") from None
    if not isinstance(data, dict):
        raise DatasetError(f"{src}: top level must be an object with images, annotations, categories")
    return data


def _record_where(rec: Any, k: int, src: str, kind: str, keys: tuple[str, ...]) -> str:
    """How errors name record `k` of a list (`<file>: image 7`); checks it is an object with `keys`."""
    where = f"{src}: {kind} {rec.get('id', f'#{k}') if isinstance(rec, dict) else f'#{k}'}"
    if not isinstance(rec, dict):
        raise DatasetError(f"{where}: must be an object")
    for key in keys:
        if key not in rec:
            raise DatasetError(f"{where}: missing key '{key}'")
    return where


def _check_annotation(a: Any, k: int, src: str, images: dict[int, dict[str, Any]], categories: dict[int, str], seen: set[int]) -> list[float] | None:
    """One annotation record checked: its box clipped to the image as [x1, y1, x2, y2], or None for
    a crowd region; `seen` collects the ids."""
    where = _record_where(a, k, src, "annotation", ("id", "image_id", "category_id", "bbox"))
    if a["id"] in seen:
        raise DatasetError(f"{where}: duplicate annotation id")
    seen.add(a["id"])
    if a["image_id"] not in images:
        raise DatasetError(f"{where}: image_id {a['image_id']!r} is not an image of this file")
    if a["category_id"] not in categories:
        raise DatasetError(f"{where}: category_id {a['category_id']!r} is not a category of this file")
    bbox = a["bbox"]
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(_is_number(v) for v in bbox)):
        raise DatasetError(f"{where}: bbox must be [x, y, width, height] numbers, got {bbox!r}")
    x, y, w, h = (float(v) for v in bbox)
    if w <= 0 or h <= 0:
        raise BadBoxError(f"{where}: non-positive box size {w:g}x{h:g} (bbox {bbox}; proxy.data.bad_boxes=drop drops such boxes)")
    if a.get("iscrowd", 0) not in (0, 1):
        raise DatasetError(f"{where}: iscrowd must be 0 or 1, got {a['iscrowd']!r}")
    if a.get("iscrowd", 0):
        return None
    img = images[a["image_id"]]
    x1, y1 = max(0.0, x), max(0.0, y)
    x2, y2 = min(float(img["width"]), x + w), min(float(img["height"]), y + h)
    if x2 - x1 <= 0 or y2 - y1 <= 0:
        raise DatasetError(f"{where}: box {bbox} lies outside its {img['width']}x{img['height']} image {img['id']}")
    if x2 - x1 < MIN_BOX_SIDE or y2 - y1 < MIN_BOX_SIDE:
        raise BadBoxError(f"{where}: box {bbox} is under {MIN_BOX_SIDE:g} pixel wide or high inside its image (proxy.data.bad_boxes=drop drops such boxes)")
    return [x1, y1, x2, y2]


def _check_categories(cats: list[Any], src: str) -> dict[int, str]:
    out: dict[int, str] = {}
    for k, c in enumerate(cats):
        where = f"{src}: category #{k}"
        if not isinstance(c, dict) or "id" not in c:
            raise DatasetError(f"{where}: must be an object with an 'id'")
        if not _is_int(c["id"]):
            raise DatasetError(f"{where}: id must be an integer, got {c['id']!r}")
        if c["id"] in out:
            raise DatasetError(f"{where}: duplicate category id {c['id']}")
        out[c["id"]] = c.get("name", str(c["id"]))
    if not out:
        raise DatasetError(f"{src}: has no categories")
    return out


def _check_images(imgs: list[Any], src: str) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for k, img in enumerate(imgs):
        where = _record_where(img, k, src, "image", ("id", "file_name", "width", "height"))
        if not _is_int(img["id"]):
            raise DatasetError(f"{where}: id must be an integer, got {img['id']!r}")
        if img["id"] in out:
            raise DatasetError(f"{where}: duplicate image id")
        if not isinstance(img["file_name"], str) or not img["file_name"]:
            raise DatasetError(f"{where}: file_name must be a non-empty string")
        for key in ("width", "height"):
            if not _is_int(img[key]) or img[key] <= 0:
                raise DatasetError(f"{where}: {key} must be a positive integer, got {img[key]!r}")
        out[img["id"]] = img
    return out


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def split_coco(data: dict[str, Any], num_holdout: int, seed: int = 0) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a COCO dict by image into (rest, held-out of `num_holdout` images), seeded."""
    ids = [img["id"] for img in data["images"]]
    if not 0 < num_holdout < len(ids):
        raise DatasetError(f"cannot hold out {num_holdout} of {len(ids)} images")
    rng = np.random.default_rng(seed)
    held = set(rng.choice(np.asarray(ids), size=num_holdout, replace=False).tolist())

    def part(keep: bool) -> dict[str, Any]:
        d = {k: v for k, v in data.items() if k not in ("images", "annotations")}
        d["images"] = [img for img in data["images"] if (img["id"] in held) != keep]
        d["annotations"] = [a for a in data["annotations"] if (a["image_id"] in held) != keep]
        return d

    return part(True), part(False)
