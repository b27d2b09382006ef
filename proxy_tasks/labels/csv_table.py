"""CSV box tables, one row per box: filename, width, height, class, xmin, ymin, xmax, ymax (pixels).

The form most labelling tools export (and TensorFlow's object-detection tutorials read). A CSV
cannot list an image without boxes, so every image of a split has at least one.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Sequence

from proxy_tasks.data import DatasetError
from proxy_tasks.labels.common import CocoBuilder, LabelSplit, parse_number, resolve_classes

COLUMNS = ("filename", "width", "height", "class", "xmin", "ymin", "xmax", "ymax")
Row = tuple[str, dict[str, str]]  # (where, the row)


def read_csv(
    train_csv: str | Path, val_csv: str | Path, train_images: str | Path, val_images: str | Path | None = None, classes: Sequence[str] | None = None,
    bad_boxes: str = "error",
) -> tuple[LabelSplit, LabelSplit]:
    """Both splits of a CSV dataset; classes default to the training file's, sorted."""
    rows = {split: _rows(Path(path)) for split, path in (("train", train_csv), ("val", val_csv))}
    names = resolve_classes(str(train_csv), classes, (row["class"] for _, row in rows["train"]))
    out = []
    for split, path, images in (("train", train_csv, train_images), ("val", val_csv, val_images or train_images)):
        builder = CocoBuilder(names, bad_boxes)
        ids: dict[str, tuple[int, int, int]] = {}  # filename -> image id, width, height
        for where, row in rows[split]:
            size = (_pixels(row["width"], where, "width"), _pixels(row["height"], where, "height"))
            if row["filename"] not in ids:
                ids[row["filename"]] = (builder.add_image(row["filename"], *size), *size)
            image_id, w, h = ids[row["filename"]]
            if size != (w, h):
                raise DatasetError(f"{where}: {row['filename']} is {size[0]}x{size[1]} here but {w}x{h} in an earlier row")
            box = [parse_number(row[k], where, k) for k in ("xmin", "ymin", "xmax", "ymax")]
            builder.add_box(where, image_id, row["class"], box)
        out.append(LabelSplit(builder, Path(images), Path(path)))
    return out[0], out[1]


def _rows(path: Path) -> list[Row]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = [c.strip() for c in reader.fieldnames or []]
            missing = [c for c in COLUMNS if c not in header]
            if missing:
                raise DatasetError(f"{path}: line 1: header lacks {', '.join(missing)} (columns: {', '.join(COLUMNS)})")
            reader.fieldnames = header
            rows = []
            for row in reader:
                where = f"{path}: line {reader.line_num}"
                if None in row or any(row[c] is None for c in COLUMNS):
                    raise DatasetError(f"{where}: expected {len(header)} fields as the header has")
                values = {c: row[c].strip() for c in COLUMNS}
                if not values["filename"] or not values["class"]:
                    raise DatasetError(f"{where}: filename and class must not be empty")
                rows.append((where, values))
    except FileNotFoundError:
        raise DatasetError(f"{path}: CSV file not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DatasetError(f"{path}: cannot read as CSV ({e})") from None
    if not rows:
        raise DatasetError(f"{path}: no rows under the header")
    return rows


def _pixels(text: str, where: str, field: str) -> int:
    value = parse_number(text, where, field)
    if value <= 0 or value != int(value):
        raise DatasetError(f"{where}: {field} must be a positive whole number of pixels, got {text!r}")
    return int(value)
