"""Pascal VOC datasets: Annotations/*.xml (one file per image), JPEGImages/ (or images/), and a
split from ImageSets/Main/<name>.txt, from a list file of the user's, or a seeded share.

`difficult` objects become COCO crowd boxes: not training targets, and a detection on one is
neither a true nor a false positive (as the VOC evaluation treats them).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from proxy_tasks.data import DatasetError
from proxy_tasks.labels.common import CocoBuilder, LabelSplit, find_image, image_size, parse_number, refuse_foreign_files, resolve_classes

ANNOTATION_DIRS = ("Annotations", "annotations")
IMAGE_DIRS = ("JPEGImages", "images")


@dataclass(frozen=True)
class VocObject:
    name: str
    box: tuple[float, ...]
    difficult: bool
    where: str


@dataclass(frozen=True)
class VocImage:
    file_name: str
    width: int
    height: int
    objects: tuple[VocObject, ...]


def read_voc(
    root: str | Path,
    train_split: str = "train",
    val_split: str = "val",
    val_fraction: float | None = None,
    seed: int = 0,
    classes: Sequence[str] | None = None,
    bad_boxes: str = "error",
    annotations_dir: str | None = None,
    images_dir: str | None = None,
) -> tuple[LabelSplit, LabelSplit]:
    """The train and validation splits of a VOC folder (`bad_boxes`: see `CocoBuilder`).

    Args:
        root: the dataset folder (holding Annotations/ or annotations/ and JPEGImages/ or images/).
        train_split, val_split: a name under ImageSets/Main/ (`train`, `trainval`, `val`, `test`) or
            a text file of image ids, one per line.
        val_fraction: hold out this share of all annotated images instead (seeded by `seed`).
        classes: the class names in label order; objects of other classes are refused. Default:
            every name in the training split, sorted.
        annotations_dir, images_dir: the folders of the XML files and the images where they have
            other names than VOC's (relative to `root`, or absolute); default: the names above.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: VOC dataset folder not found")
    ann_dir = _given_dir(root, annotations_dir, "annotations_dir") if annotations_dir else _first_dir(root, ANNOTATION_DIRS, "annotation", "annotations_dir")
    img_dir = _given_dir(root, images_dir, "images_dir") if images_dir else _first_dir(root, IMAGE_DIRS, "image", "images_dir")
    refuse_foreign_files(ann_dir, "Pascal VOC (.xml)", {".txt": "a YOLO or text label file", ".json": "a JSON (COCO?) label file"})
    stems = sorted(p.stem for p in ann_dir.glob("*.xml"))
    if not stems:
        raise DatasetError(f"{ann_dir}: no .xml annotation files")
    train_ids, val_ids = _split(root, ann_dir, stems, train_split, val_split, val_fraction, seed)
    parsed = {stem: parse_voc_xml(ann_dir / f"{stem}.xml", img_dir) for stem in [*train_ids, *val_ids]}
    names = resolve_classes(str(ann_dir), classes, (o.name for s in train_ids for o in parsed[s].objects))
    splits = []
    for ids in (train_ids, val_ids):
        builder = CocoBuilder(names, bad_boxes)
        for stem in ids:
            img = parsed[stem]
            image_id = builder.add_image(img.file_name, img.width, img.height)
            for obj in img.objects:
                builder.add_box(obj.where, image_id, obj.name, obj.box, crowd=obj.difficult)
        splits.append(LabelSplit(builder, img_dir, ann_dir))
    return splits[0], splits[1]


def parse_voc_xml(path: Path, image_dir: Path) -> VocImage:
    """One annotation file, every field checked; the image's size comes from its header when the
    file's <size> is missing or zero."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise DatasetError(f"{path}: not well-formed XML ({e})") from None
    except OSError as e:
        raise DatasetError(f"{path}: cannot read ({e})") from None
    if root.tag != "annotation":
        raise DatasetError(f"{path}: root element is <{root.tag}>, a VOC file has <annotation>")
    file_name = (root.findtext("filename") or "").strip()
    if file_name:
        image = image_dir / file_name
    else:
        found = find_image(image_dir, path.stem)
        if found is None:
            raise DatasetError(f"{path}: no <filename> and no image {path.stem}.* in {image_dir}")
        image, file_name = found, found.name
    width, height = _size(root, path, image)
    objects = []
    for k, obj in enumerate(root.findall("object")):
        name = (obj.findtext("name") or "").strip()
        where = f"{path}: object #{k + 1}" + (f" ({name})" if name else "")
        if not name:
            raise DatasetError(f"{where}: missing <name>")
        bb = obj.find("bndbox")
        if bb is None:
            raise DatasetError(f"{where}: missing <bndbox>")
        box = tuple(parse_number(bb.findtext(f), where, f"<bndbox><{f}>") for f in ("xmin", "ymin", "xmax", "ymax"))
        difficult = (obj.findtext("difficult") or "0").strip()
        if difficult not in ("0", "1"):
            raise DatasetError(f"{where}: <difficult> must be 0 or 1, got {difficult!r}")
        objects.append(VocObject(name, box, difficult == "1", where))
    return VocImage(file_name, width, height, tuple(objects))


def _size(root: ET.Element, path: Path, image: Path) -> tuple[int, int]:
    size = root.find("size")
    if size is not None and (size.findtext("width") or "").strip() not in ("", "0"):
        w = parse_number(size.findtext("width"), str(path), "<size><width>")
        h = parse_number(size.findtext("height"), str(path), "<size><height>")
        if w <= 0 or h <= 0 or w != int(w) or h != int(h):
            raise DatasetError(f"{path}: <size> must be positive whole pixels, got {w:g}x{h:g}")
        return int(w), int(h)
    return image_size(image, str(path))


def _first_dir(root: Path, names: tuple[str, ...], what: str, key: str) -> Path:
    for name in names:
        if (root / name).is_dir():
            return root / name
    others = sorted(p.name + "/" for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    found = f"; it holds {', '.join(others)}" if others else ""
    raise DatasetError(
        f"{root}: no {what} folder ({' or '.join(n + '/' for n in names)}; Pascal VOC layout{found}): "
        f"name yours with proxy.data.{key}=FOLDER"
    )


def _given_dir(root: Path, name: str, key: str) -> Path:
    path = Path(name) if Path(name).is_absolute() else root / name
    if not path.is_dir():
        raise DatasetError(f"{path}: proxy.data.{key} is not a folder")
    return path


def _split(
    root: Path, ann_dir: Path, stems: list[str], train: str, val: str, val_fraction: float | None, seed: int
) -> tuple[list[str], list[str]]:
    """Image ids of the two splits; an id without an annotation file, or in both, is refused."""
    if val_fraction is not None:
        if not 0 < val_fraction < 1:
            raise DatasetError(f"proxy.data.val_fraction must be in (0, 1), got {val_fraction}")
        n_val = max(1, round(len(stems) * val_fraction))
        if n_val >= len(stems):
            raise DatasetError(f"{ann_dir}: {len(stems)} images cannot spare {n_val} for validation")
        held = set(np.random.default_rng(seed).choice(len(stems), size=n_val, replace=False).tolist())
        return [s for k, s in enumerate(stems) if k not in held], [s for k, s in enumerate(stems) if k in held]
    known = set(stems)
    out = []
    for name in (train, val):
        listed = _split_file(root, name)
        ids = []
        for line_no, line in enumerate(listed.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            stem = line.split()[0]
            if stem not in known:
                raise DatasetError(f"{listed}: line {line_no}: image id {stem!r} has no {ann_dir.name}/{stem}.xml")
            ids.append(stem)
        if not ids:
            raise DatasetError(f"{listed}: lists no image")
        out.append(ids)
    both = sorted(set(out[0]) & set(out[1]))
    if both:
        raise DatasetError(f"splits {train} and {val} share {len(both)} images (e.g. {both[0]}): validation must be held out")
    return out[0], out[1]


def _split_file(root: Path, name: str) -> Path:
    path = Path(name)
    if path.suffix and path.is_file():
        return path
    listed = root / "ImageSets" / "Main" / f"{name}.txt"
    if listed.is_file():
        return listed
    raise DatasetError(
        f"{root}: split {name!r}: neither a list file nor ImageSets/Main/{name}.txt; give "
        f"proxy.data.train_split=FILE proxy.data.val_split=FILE (image ids, one per line) or proxy.data.val_fraction=0.2"
    )
