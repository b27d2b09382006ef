"""What the label readers share: a COCO dict built record by record, box rules, image headers.

Every reader turns the user's labels into the COCO dict the rest of the project reads (training
targets, the pycocotools ground truth), checking each record where it is written, so a message
names the user's own file and line rather than a COCO record they never saw.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any, Iterable, Sequence

from PIL import Image, UnidentifiedImageError

from proxy_tasks.data import BAD_BOXES, MIN_BOX_SIDE, BadBoxError, CocoDataset, DatasetError, coco_dataset

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
EDGE_TOLERANCE = 2.0  # pixels a box may pass the image's edge (rounding, 1-based coordinates) before it is an error


class CocoBuilder:
    """Images and boxes of one split, as a COCO dict with categories 1..K in `classes` order."""

    def __init__(self, classes: Sequence[str], bad_boxes: str = "error") -> None:
        if bad_boxes not in BAD_BOXES:
            raise DatasetError(f"proxy.data.bad_boxes must be one of {', '.join(BAD_BOXES)}, got {bad_boxes!r}")
        self.bad_boxes = bad_boxes
        self.dropped: dict[str, int] = {}  # label file -> boxes dropped under bad_boxes=drop
        self.classes = list(classes)
        self.category_of = {name: k + 1 for k, name in enumerate(self.classes)}
        self.images: list[dict[str, Any]] = []
        self.annotations: list[dict[str, Any]] = []

    def add_image(self, file_name: str, width: int, height: int) -> int:
        """Register an image (`file_name` relative to the split's image folder); returns its id."""
        image_id = len(self.images) + 1
        self.images.append({"id": image_id, "file_name": file_name, "width": int(width), "height": int(height)})
        return image_id

    def add_box(self, where: str, image_id: int, name: str, box: Sequence[float], crowd: bool = False) -> None:
        """Add one x1, y1, x2, y2 pixel box of class `name`, checked by `check_box`; `where` names the
        record in errors (`labels/a.txt: line 3`)."""
        if name not in self.category_of:
            raise DatasetError(f"{where}: unknown class {name!r} (classes: {', '.join(self.classes)})")
        img = self.images[image_id - 1]
        try:
            x1, y1, x2, y2 = check_box(where, box, img["width"], img["height"])
        except BadBoxError:
            if self.bad_boxes == "error":
                raise
            source = where.split(": ", 1)[0]
            self.dropped[source] = self.dropped.get(source, 0) + 1
            return
        self.annotations.append(
            {
                "id": len(self.annotations) + 1,
                "image_id": image_id,
                "category_id": self.category_of[name],
                "bbox": [x1, y1, x2 - x1, y2 - y1],
                "area": (x2 - x1) * (y2 - y1),
                "iscrowd": int(crowd),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        categories = [{"id": k + 1, "name": name} for k, name in enumerate(self.classes)]
        return {"images": self.images, "annotations": self.annotations, "categories": categories}


def check_box(where: str, box: Sequence[float], width: int, height: int) -> tuple[float, float, float, float]:
    """A pixel box checked against its image: finite, ordered, inside the image up to
    `EDGE_TOLERANCE` pixels (then clipped to it); the error names the rule broken."""
    if len(box) != 4 or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in box):
        raise DatasetError(f"{where}: box must be four finite numbers, got {list(box)!r}")
    x1, y1, x2, y2 = (float(v) for v in box)
    if x2 <= x1 or y2 <= y1:
        raise BadBoxError(f"{where}: empty box: xmin {x1:g} must be < xmax {x2:g} and ymin {y1:g} < ymax {y2:g} (proxy.data.bad_boxes=drop drops such boxes)")
    tol = EDGE_TOLERANCE
    if x1 < -tol or y1 < -tol or x2 > width + tol or y2 > height + tol:
        raise DatasetError(f"{where}: box ({x1:g}, {y1:g}, {x2:g}, {y2:g}) reaches outside its {width}x{height} image")
    x1, y1, x2, y2 = max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2)
    if x2 - x1 < MIN_BOX_SIDE or y2 - y1 < MIN_BOX_SIDE:
        raise BadBoxError(f"{where}: box ({x1:g}, {y1:g}, {x2:g}, {y2:g}) is under {MIN_BOX_SIDE:g} pixel wide or high inside its {width}x{height} image (proxy.data.bad_boxes=drop drops such boxes)")
    return x1, y1, x2, y2


def image_size(path: Path, where: str) -> tuple[int, int]:
    """(width, height) from the image file's header (nothing is decoded)."""
    try:
        with Image.open(path) as im:
            return im.size
    except FileNotFoundError:
        raise DatasetError(f"{where}: image file {path} is missing") from None
    except (UnidentifiedImageError, OSError) as e:
        raise DatasetError(f"{where}: cannot read image {path} ({e})") from None


def parse_number(text: str | None, where: str, field: str) -> float:
    """A finite number from a label field; the error names the field and what was there."""
    try:
        value = float(str(text).strip())
    except (TypeError, ValueError):
        raise DatasetError(f"{where}: {field} must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise DatasetError(f"{where}: {field} must be finite, got {text!r}")
    return value


def refuse_foreign_files(folder: Path, expected: str, foreign: dict[str, str]) -> None:
    """Refuse a label folder that also holds another format's label files (`foreign`: suffix ->
    format), so half of a mixed dataset is never silently left out."""
    for suffix, fmt in foreign.items():
        stray = next(iter(sorted(folder.rglob(f"*{suffix}"))), None)
        if stray is not None:
            raise DatasetError(
                f"{folder}: mixes label formats: {expected} labels here, but {stray.relative_to(folder)} is {fmt}; "
                f"keep one format per dataset (proxy.data.format chooses the reader)"
            )


def find_image(folder: Path, stem: str) -> Path | None:
    """The image file `stem`.<any image suffix> in `folder`, if one exists."""
    for suffix in IMAGE_SUFFIXES:
        for candidate in (folder / f"{stem}{suffix}", folder / f"{stem}{suffix.upper()}"):
            if candidate.is_file():
                return candidate
    return None


def fingerprint(kind: str, parts: Iterable[Any]) -> str:
    """A content hash of what a reader made (for the image cache key)."""
    h = hashlib.sha256(kind.encode())
    for part in parts:
        h.update(json.dumps(part, sort_keys=True).encode())
    return h.hexdigest()[:24]


def resolve_classes(where: str, given: Sequence[str] | None, seen: Iterable[str]) -> list[str]:
    """The class list: `given` (proxy.data.classes) in its order, else the training labels' names
    sorted; a given list with duplicates or empty names is refused."""
    if given:
        names = [str(c) for c in given]
        dup = next((n for n in names if names.count(n) > 1), None)
        if dup is not None:
            raise DatasetError(f"proxy.data.classes: {dup!r} is listed twice")
        if any(not n.strip() for n in names):
            raise DatasetError("proxy.data.classes: class names must be non-empty")
        return names
    names = sorted(set(seen))
    if not names:
        raise DatasetError(f"{where}: no labelled object in the training split, so no class to learn")
    return names


class LabelSplit:
    """One split as a reader made it: the COCO dict, the folder its file names are relative to,
    and the source that messages name (the user's annotation folder or file)."""

    def __init__(self, builder: CocoBuilder, image_dir: Path, source: Path) -> None:
        self.coco = builder.to_dict()
        self.dropped = dict(builder.dropped)
        self.image_dir, self.source = Path(image_dir), Path(source)

    def dataset(self, check_files: bool = True) -> CocoDataset:
        """The split validated as every dataset is (`coco_dataset`), keyed for the image cache by content."""
        key = fingerprint(str(self.source.resolve()), [self.coco])
        return coco_dataset(self.coco, self.source, self.image_dir, check_files, fingerprint=key, dropped=self.dropped)
