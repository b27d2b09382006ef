"""YOLO datasets: a data.yaml naming the classes and the train/val image folders (or list files),
and for each image a labels/ .txt file of `class cx cy w h` lines, normalised to [0, 1].

The label file of `<base>/images/<rest>/<name>.<ext>` is `<base>/labels/<rest>/<name>.txt`, as
Ultralytics lays them out; an image without a label file is a background image (no boxes).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from proxy_tasks.data import DatasetError
from proxy_tasks.labels.common import IMAGE_SUFFIXES, CocoBuilder, LabelSplit, image_size, parse_number, refuse_foreign_files

NORMALISED_TOLERANCE = 1e-3  # how far a normalised coordinate may pass 0 or 1 (rounding in exporters)


def read_yolo(root: str | Path, bad_boxes: str = "error") -> tuple[LabelSplit, LabelSplit]:
    """The train and val splits of a YOLO dataset; `root` is its data.yaml or the folder holding it.
    A split whose images have no label file at all is refused (a missing or misnamed labels/ folder
    would otherwise read as a dataset of background)."""
    yaml_path = _data_yaml(Path(root))
    cfg = _load_yaml(yaml_path)
    base = Path(cfg.get("path") or yaml_path.parent)
    if not base.is_absolute():
        base = (yaml_path.parent / base).resolve()
    names = _names(cfg, yaml_path)
    splits = []
    for split in ("train", "val"):
        if not cfg.get(split):
            raise DatasetError(f"{yaml_path}: missing '{split}' (a folder of images or a list file, relative to {base})")
        entries = cfg[split] if isinstance(cfg[split], list) else [cfg[split]]
        builder = CocoBuilder(names, bad_boxes)
        images = _images(yaml_path, base, split, entries)
        for labels_dir in sorted(d for d in {_labels_dir(image) for image in images} if d is not None):
            refuse_foreign_files(labels_dir, "YOLO (.txt)", {".xml": "a Pascal VOC file", ".json": "a JSON (COCO?) label file"})
        labelled = 0
        for image in images:
            width, height = image_size(image, f"{yaml_path}: {split}")
            image_id = builder.add_image(os.path.relpath(image, base), width, height)
            label = _label_path(image)
            if label.is_file():
                labelled += 1
                _read_label_file(label, builder, image_id, width, height, names)
        if not builder.images:
            raise DatasetError(f"{yaml_path}: split '{split}' has no images")
        if not labelled:
            raise DatasetError(
                f"{yaml_path}: split '{split}': none of its {len(images)} images has a label file (looked for {_label_path(images[0])}); "
                "YOLO keeps one .txt per image in a labels/ folder beside images/"
            )
        splits.append(LabelSplit(builder, base, yaml_path))
    return splits[0], splits[1]


def _data_yaml(root: Path) -> Path:
    if root.is_file():
        return root
    for name in ("data.yaml", "dataset.yaml", "data.yml"):
        if (root / name).is_file():
            return root / name
    raise DatasetError(f"{root}: no data.yaml (YOLO layout: data.yaml with names, train, val; images/ and labels/)")


def _load_yaml(path: Path) -> dict[str, Any]:
    try:
        cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise DatasetError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(cfg, dict):
        raise DatasetError(f"{path}: must be a mapping with names, train and val")
    return cfg


def _names(cfg: dict[str, Any], path: Path) -> list[str]:
    """Class names by index from `names` (a list, or a mapping 0..K-1 -> name); `nc` must agree."""
    names = cfg.get("names")
    if isinstance(names, dict):
        if sorted(names) != list(range(len(names))):
            raise DatasetError(f"{path}: names must map the indices 0..{len(names) - 1} to class names, got keys {sorted(names)!r}")
        names = [names[k] for k in range(len(names))]
    if not isinstance(names, list) or not names or any(not isinstance(n, (str, int)) or not str(n).strip() for n in names):
        raise DatasetError(f"{path}: names must be a non-empty list (or index mapping) of class names")
    names = [str(n) for n in names]
    if len(set(names)) != len(names):
        raise DatasetError(f"{path}: names lists a class twice")
    if "nc" in cfg and cfg["nc"] != len(names):
        raise DatasetError(f"{path}: nc is {cfg['nc']!r} but names lists {len(names)} classes")
    return names


def _images(yaml_path: Path, base: Path, split: str, entries: list[Any]) -> list[Path]:
    out: list[Path] = []
    for entry in entries:
        path = base / str(entry)
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.is_file() and path.suffix == ".txt":
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    listed = Path(line.strip())
                    out.append(listed if listed.is_absolute() else (base / listed))
        else:
            raise DatasetError(f"{yaml_path}: {split}: {path} is neither an image folder nor a .txt list of images")
    return out


def _label_path(image: Path) -> Path:
    """`.../images/<rest>/x.jpg` -> `.../labels/<rest>/x.txt` (the last `images` part is replaced)."""
    parts = list(image.parts)
    if "images" in parts:
        parts[len(parts) - 1 - parts[::-1].index("images")] = "labels"
    return Path(*parts).with_suffix(".txt")


def _labels_dir(image: Path) -> Path | None:
    """The labels/ folder an image's label file sits under, if it exists."""
    parts = list(image.parts)
    if "images" not in parts:
        return None
    k = len(parts) - 1 - parts[::-1].index("images")
    folder = Path(*parts[:k], "labels")
    return folder if folder.is_dir() else None


def _read_label_file(path: Path, builder: CocoBuilder, image_id: int, width: int, height: int, names: list[str]) -> None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: cannot read ({e})") from None
    for line_no, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        where = f"{path}: line {line_no}"
        if len(fields) != 5:
            kind = "a polygon (segmentation) label" if len(fields) > 5 and len(fields) % 2 == 1 else f"{len(fields)} fields"
            raise DatasetError(f"{where}: expected 'class cx cy w h' (5 fields), got {kind}")
        if not fields[0].isdigit() or int(fields[0]) >= len(names):
            raise DatasetError(f"{where}: class {fields[0]!r} is not an index of names (0..{len(names) - 1})")
        cx, cy, w, h = (parse_number(v, where, f) for v, f in zip(fields[1:], ("cx", "cy", "w", "h")))
        tol = NORMALISED_TOLERANCE
        if not all(-tol <= v <= 1 + tol for v in (cx, cy, w, h)):
            raise DatasetError(f"{where}: coordinates must be normalised to [0, 1] (divided by the image size), got {' '.join(fields[1:])}")
        if w < 0 or h < 0:
            raise DatasetError(f"{where}: box width and height must be >= 0, got w {w:g} h {h:g}")  # zero: an empty box, for bad_boxes
        box = ((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height)
        builder.add_box(where, image_id, names[int(fields[0])], box)
