"""Where a proxy's data comes from (`proxy.data.*`) and reading it, in any supported format.

Labels are read where they are, in the user's format (COCO JSON, Pascal VOC, YOLO, CSV), rather
than converted first: there is no second copy to fall out of date, and every error names the
user's own file and line. `spinenas data convert` writes the COCO JSON for use elsewhere.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from proxy_tasks.cache import scan_images
from proxy_tasks.data import BAD_BOXES, BAD_IMAGES, CocoDataset, DatasetError, load_coco
from proxy_tasks.labels.csv_table import read_csv
from proxy_tasks.labels.voc import read_voc
from proxy_tasks.labels.yolo import read_yolo
from proxy_tasks.synthetic import SYNTHETIC_PRESETS, ensure_synthetic
from search_space.errors import InputError
from search_space.registry import Registry


@dataclass
class DataConfig:
    """The proxy's dataset. `format` chooses the reader:

    - coco: train_ann/val_ann COCO JSON files, train_images/val_images their image folders;
    - csv: train_ann/val_ann CSV box tables (filename, width, height, class, xmin..ymax),
      train_images (val_images defaults to it);
    - voc: root (Annotations/ or annotations/, JPEGImages/ or images/; other names by
      annotations_dir/images_dir), train_split/val_split (ImageSets/Main names or id-list files) or
      val_fraction;
    - yolo: root (data.yaml, or the folder holding it).

    `synthetic` (tiny, demo, shapes) generates a built-in dataset instead. `classes` fixes the
    class order of VOC and CSV labels (others are refused); by default it is the training split's
    names, sorted.
    """

    format: str = "coco"
    synthetic: str | None = None
    root: str | None = None
    train_ann: str | None = None
    train_images: str | None = None
    val_ann: str | None = None
    val_images: str | None = None
    train_split: str = "train"
    val_split: str = "val"
    val_fraction: float | None = None
    split_seed: int = 0
    classes: list[str] | None = None
    cache_dir: str | None = None
    max_val_images: int | None = None
    max_train_images: int | None = None  # a share of the training set (the first N of a seeded shuffle)
    bad_boxes: str = "drop"  # an empty or sub-pixel box: drop (counted in the reports) | error (stop at the first)
    bad_images: str = "drop"  # an undecodable or truncated image: drop it with its boxes (named in the reports) | error
    annotations_dir: str | None = None  # voc: the XML folder under root when not Annotations/ or annotations/
    images_dir: str | None = None  # voc: the image folder under root when not JPEGImages/ or images/
    max_image_pixels: int | None = None  # images larger than this (width x height) are refused; None: Pillow's limit (89,478,485)

    @property
    def cache_path(self) -> Path | None:
        """The cache folder as a path (None: the default, see `default_cache_dir`)."""
        return Path(self.cache_dir) if self.cache_dir else None

    def with_absolute_paths(self) -> DataConfig:
        """This config with its relative paths made absolute against the current folder, so that a
        trial worker, which runs in a folder of its own, reads the files the command line named.
        Split names (`train`) stay names; a split given as a file (`splits/train.txt`) is a path."""
        def absolute(value: str | None) -> str | None:
            return os.path.abspath(value) if value and not os.path.isabs(value) else value

        def is_path(split: str) -> bool:
            return Path(split).is_file() or len(Path(split).parts) > 1

        paths: dict[str, Any] = {k: absolute(getattr(self, k)) for k in ("root", "train_ann", "train_images", "val_ann", "val_images", "cache_dir")}
        splits: dict[str, Any] = {k: absolute(getattr(self, k)) for k in ("train_split", "val_split") if is_path(getattr(self, k))}
        return dataclasses.replace(self, **paths, **splits)

    def describe(self) -> str:
        """One line naming the data (for reports)."""
        if self.synthetic:
            return f"synthetic {self.synthetic}"
        where = self.root or self.train_ann or "?"
        return f"{self.format} {where}"


def load_datasets(d: DataConfig) -> tuple[CocoDataset, CocoDataset]:
    """Train and validation datasets, read in `d.format` and validated; a problem raises one
    `DatasetError` (or `InputError` for a missing key) naming the file, record and rule."""
    if d.bad_boxes not in BAD_BOXES:
        raise InputError(f"proxy.data.bad_boxes: unknown {d.bad_boxes!r}; valid: {', '.join(BAD_BOXES)}")
    if d.bad_images not in BAD_IMAGES:
        raise InputError(f"proxy.data.bad_images: unknown {d.bad_images!r}; valid: {', '.join(BAD_IMAGES)}")
    if d.max_image_pixels is not None and (not isinstance(d.max_image_pixels, int) or d.max_image_pixels < 1):
        raise InputError(f"proxy.data.max_image_pixels: a positive number of pixels (width x height), got {d.max_image_pixels!r}")
    given = [k for k in ("root", "train_ann", "val_ann") if getattr(d, k)]
    if d.synthetic and given:
        raise InputError(
            f"proxy.data.synthetic={d.synthetic} and proxy.data.{given[0]} are both set: for your own data "
            f"choose proxy=custom (or set proxy.data.synthetic=null)"
        )
    if d.synthetic:
        if d.synthetic not in SYNTHETIC_PRESETS:
            raise InputError(f"proxy.data.synthetic: unknown {d.synthetic!r}; valid: {', '.join(SYNTHETIC_PRESETS)}")
        paths = ensure_synthetic(SYNTHETIC_PRESETS[d.synthetic], d.cache_path)
        train_ds, val_ds = load_coco(paths.train_ann, paths.train_images), load_coco(paths.val_ann, paths.val_images)
    else:
        if d.format not in LABEL_FORMATS:
            raise InputError(f"proxy.data.format: unknown {d.format!r}; valid: {', '.join(LABEL_FORMATS.names())}")
        fmt = LABEL_FORMATS.get(d.format)
        _require(d, fmt.needs, fmt.alternative)
        foreign = [k for k in ("annotations_dir", "images_dir") if getattr(d, k) and d.format != "voc"]
        if foreign:
            raise InputError(f"proxy.data.{foreign[0]} names a folder of a VOC dataset; format={d.format} does not read it")
        train_ds, val_ds = fmt.read(d)
    if d.max_train_images is not None and d.max_train_images < len(train_ds.images):
        train_ds = subset(train_ds, d.max_train_images, d.split_seed)
    if d.max_val_images is not None and d.max_val_images < len(val_ds.images):
        val_ds = dataclasses.replace(val_ds, images=val_ds.images[: d.max_val_images])
    if train_ds.category_names != val_ds.category_names:
        raise DatasetError(f"{val_ds.ann_file}: categories differ from those of {train_ds.ann_file}")
    if not d.synthetic:  # generated by us: nothing to distrust
        train_ds, val_ds = (dataclasses.replace(ds, max_pixels=d.max_image_pixels) for ds in (train_ds, val_ds))
        train_ds, val_ds = (checked_images(ds, d.cache_path, d.bad_images) for ds in (train_ds, val_ds))
    for name, ds in (("training", train_ds), ("validation", val_ds)):
        if ds.num_boxes == 0:
            dropped, images = sum(ds.dropped_boxes.values()), len(ds.dropped_images)
            also = f" ({dropped} empty or sub-pixel boxes were dropped)" if dropped else ""
            also += f" ({images} undecodable images were dropped with their boxes)" if images else ""
            raise DatasetError(f"{ds.ann_file}: the {name} split has no boxes at all{also}: nothing to {'learn' if name == 'training' else 'score'}")
    return train_ds, val_ds


@dataclass(frozen=True)
class LabelFormat:
    """A label format `proxy.data.format` names: the `proxy.data` keys it needs (refused by name when
    missing; `alternative` is what may stand in for them) and its reader, which returns the training
    and validation splits as COCO datasets and raises one `DatasetError` naming the file and record
    for a bad one (with `d.bad_boxes` applied to empty or sub-pixel boxes)."""

    needs: tuple[str, ...]
    read: Callable[[DataConfig], tuple[CocoDataset, CocoDataset]]
    alternative: str | None = None


def _coco(d: DataConfig) -> tuple[CocoDataset, CocoDataset]:
    return load_coco(d.train_ann, d.train_images, bad_boxes=d.bad_boxes), load_coco(d.val_ann, d.val_images, bad_boxes=d.bad_boxes)  # type: ignore[arg-type]


def _csv(d: DataConfig) -> tuple[CocoDataset, CocoDataset]:
    train, val = read_csv(d.train_ann, d.val_ann, d.train_images, d.val_images, d.classes, d.bad_boxes)  # type: ignore[arg-type]
    return train.dataset(), val.dataset()


def _voc(d: DataConfig) -> tuple[CocoDataset, CocoDataset]:
    train, val = read_voc(d.root, d.train_split, d.val_split, d.val_fraction, d.split_seed, d.classes, d.bad_boxes, d.annotations_dir, d.images_dir)  # type: ignore[arg-type]
    return train.dataset(), val.dataset()


def _yolo(d: DataConfig) -> tuple[CocoDataset, CocoDataset]:
    train, val = read_yolo(d.root, d.bad_boxes)  # type: ignore[arg-type]
    return train.dataset(), val.dataset()


# A new format: a reader module in proxy_tasks/labels/ (building the same COCO dict as the others:
# proxy_tasks/labels/common.py) and one line here.
LABEL_FORMATS: Registry[LabelFormat] = Registry("label format")
LABEL_FORMATS.register("coco", lambda: LabelFormat(("train_ann", "train_images", "val_ann", "val_images"), _coco, "data.synthetic"))
LABEL_FORMATS.register("voc", lambda: LabelFormat(("root",), _voc))
LABEL_FORMATS.register("yolo", lambda: LabelFormat(("root",), _yolo))
LABEL_FORMATS.register("csv", lambda: LabelFormat(("train_ann", "val_ann", "train_images"), _csv))


def subset(ds: CocoDataset, n: int, seed: int) -> CocoDataset:
    """`n` images of `ds` drawn by a seeded shuffle, in their original order."""
    import numpy as np

    keep = np.sort(np.random.default_rng(seed).permutation(len(ds.images))[:n])
    return dataclasses.replace(ds, images=tuple(ds.images[i] for i in keep), fingerprint=f"{_fingerprint(ds)}|subset{n}|{seed}")


def checked_images(ds: CocoDataset, cache_dir: Path | None, bad_images: str) -> CocoDataset:
    """`ds` with every image decoded once (`scan_images`); an undecodable or truncated one stops
    the run (`bad_images="error"`) or is dropped with its boxes and named in `dropped_images`."""
    _, bad = scan_images(ds, cache_dir)
    if not bad:
        return ds
    if bad_images != "drop":
        raise next(iter(bad.values()))
    kept = tuple(rec for k, rec in enumerate(ds.images) if k not in bad)
    if not kept:
        raise DatasetError(f"{ds.ann_file}: none of its {len(ds.images)} images can be decoded (e.g. {next(iter(bad.values()))})")
    dropped = dict(ds.dropped_images)
    for k, e in bad.items():
        dropped[str(ds.image_path(ds.images[k]))] = e.why
    ids = ",".join(str(ds.images[k].id) for k in sorted(bad))
    return dataclasses.replace(ds, images=kept, dropped_images=dropped, fingerprint=f"{_fingerprint(ds)}|without{ids}")


def _fingerprint(ds: CocoDataset) -> str:
    """What identifies `ds`'s labels for the image cache before a subset is taken of them."""
    if ds.fingerprint:
        return ds.fingerprint
    st = ds.ann_file.stat()
    return f"{ds.ann_file.resolve()}|{st.st_size}|{st.st_mtime_ns}"


def _require(d: DataConfig, keys: tuple[str, ...], alternative: str | None = None) -> None:
    """Refuse a format whose needed keys are unset, naming them (and what may stand in for them)."""
    missing = [k for k in keys if not getattr(d, k)]
    if missing:
        alt = f" (or {alternative})" if alternative else ""
        raise InputError(f"proxy.data.format={d.format} needs {', '.join('proxy.data.' + k for k in missing)}{alt}")
