"""A built-in multi-scale detection dataset, generated deterministically into COCO format.

Six shape categories in random colours, rotated and stretched, on textured backgrounds with
clutter (lines, arcs, dots and blobs that are not objects). Object sizes are log-uniform from a
few pixels to most of the image, so small, medium and large objects all count; later objects
occlude earlier ones, and each box is the bounding box of what is still visible.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from proxy_tasks.cache import default_cache_dir
from search_space.fileio import atomic_write_text

CATEGORIES: tuple[str, ...] = ("disc", "square", "triangle", "ring", "cross", "star")
MIN_VISIBLE = 0.3  # objects less visible than this are dropped from the annotations


@dataclass(frozen=True)
class SyntheticSpec:
    """What to generate; the folder name is derived from every field, so specs never collide."""

    name: str = "synthetic"
    seed: int = 0
    num_train: int = 1000
    num_val: int = 200
    image_size: int = 256
    min_object: float = 6.0  # pixels, smallest side of an object's box before occlusion
    max_object: float = 0.7  # fraction of the image side
    max_objects: int = 8
    clutter: int = 12  # distractor strokes per image
    num_categories: int = len(CATEGORIES)
    texture: float = 1.0  # strength of the background's colour noise and grain (0: flat colour)
    min_contrast: float = 0.0  # least luminance difference (0..255) between an object and the background under it

    def __post_init__(self) -> None:
        if not 1 <= self.num_categories <= len(CATEGORIES):
            raise ValueError(f"num_categories must be in 1..{len(CATEGORIES)}, got {self.num_categories}")

    def folder(self, root: Path | None = None) -> Path:
        tag = "-".join(str(v) for v in asdict(self).values())
        return (root or default_cache_dir()) / "synthetic" / tag


# `shapes` is the data of the built-in CPU proxy (`proxy=synthetic`), chosen with `spinenas fidelity`
# (docs/proxy.md; ranked by the benchmark table, benchmarks/table/): two classes of filled shapes, 8 px to 75% of the 128 px image, up to six
# per image, on faintly textured backgrounds with enough contrast to be seen. A short training
# learns it (AP about 0.2), yet architectures differ by far more than seeds do. `tiny` is the
# same scene at CI size; `demo` is the harder scene (clutter, strong texture, six classes, 256 px).
_SHAPES: dict[str, Any] = dict(image_size=128, min_object=8.0, max_object=0.75, max_objects=6, clutter=0, num_categories=2, texture=0.3, min_contrast=60.0)
SYNTHETIC_PRESETS: dict[str, SyntheticSpec] = {
    "shapes": SyntheticSpec("shapes", num_train=3200, num_val=512, **_SHAPES),
    "tiny": SyntheticSpec("tiny", num_train=256, num_val=64, **_SHAPES),
    "demo": SyntheticSpec("demo", num_train=1200, num_val=300, image_size=256),
}


@dataclass(frozen=True)
class SyntheticPaths:
    """Where a generated dataset lies, in the same form as a user's COCO dataset."""

    train_ann: Path
    train_images: Path
    val_ann: Path
    val_images: Path


def ensure_synthetic(spec: SyntheticSpec, root: Path | None = None) -> SyntheticPaths:
    """Generate the dataset on first use (atomically: a temp folder renamed into place)."""
    folder = spec.folder(root)
    paths = SyntheticPaths(folder / "train.json", folder / "images", folder / "val.json", folder / "images")
    if (folder / "DONE").exists():
        return paths
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        (tmp / "images" / "train").mkdir(parents=True)
        (tmp / "images" / "val").mkdir(parents=True)
        rng = np.random.default_rng(spec.seed)
        for split, count, start in (("train", spec.num_train, 1), ("val", spec.num_val, 1 + spec.num_train)):
            coco = _generate_split(spec, split, count, start, rng, tmp / "images")
            atomic_write_text(tmp / f"{split}.json", json.dumps(coco))
        atomic_write_text(tmp / "DONE", json.dumps(asdict(spec)))
        try:
            os.replace(tmp, folder)
        except OSError:
            if not (folder / "DONE").exists():  # not another process winning the race
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return paths


def _generate_split(spec: SyntheticSpec, split: str, count: int, start: int, rng: np.random.Generator, image_root: Path) -> dict:
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for k in range(count):
        image_id = start + k
        img, objects = render_image(spec, rng)
        file_name = f"{split}/{image_id:06d}.jpg"
        img.save(image_root / file_name, quality=92)
        images.append({"id": image_id, "file_name": file_name, "width": spec.image_size, "height": spec.image_size})
        for label, (x1, y1, x2, y2), area in objects:
            annotations.append(
                {
                    "id": len(annotations) + 1 + start * 100,
                    "image_id": image_id,
                    "category_id": label + 1,
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": area,
                    "iscrowd": 0,
                }
            )
    cats = [{"id": k + 1, "name": n, "supercategory": "shape"} for k, n in enumerate(CATEGORIES[: spec.num_categories])]
    return {"info": {"description": f"SpineNAS synthetic {spec.name} {split}"}, "images": images, "annotations": annotations, "categories": cats}


def render_image(spec: SyntheticSpec, rng: np.random.Generator) -> tuple[Image.Image, list[tuple[int, tuple[int, int, int, int], int]]]:
    """One image and its visible objects: (label, box x1 y1 x2 y2 exclusive, visible pixels)."""
    s = spec.image_size
    img = _background(s, rng, spec.texture)
    bg = np.asarray(img, dtype=np.float32)
    draw = ImageDraw.Draw(img)
    _clutter(draw, s, spec.clutter, rng)
    owner = np.full((s, s), -1, dtype=np.int16)
    drawn: list[tuple[int, int]] = []  # (label, pixel count when drawn)
    for k in range(int(rng.integers(1, spec.max_objects + 1))):
        label = int(rng.integers(spec.num_categories))
        side = math.exp(rng.uniform(math.log(spec.min_object), math.log(spec.max_object * s)))
        aspect = math.exp(rng.uniform(-0.4, 0.4))
        w, h = side * math.sqrt(aspect), side / math.sqrt(aspect)
        w, h = min(w, s - 2), min(h, s - 2)
        x0, y0 = rng.uniform(0, s - w), rng.uniform(0, s - h)
        mask_img = Image.new("L", (s, s), 0)
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        angle = float(rng.uniform(0, 2 * math.pi))
        _shape(ImageDraw.Draw(mask_img), label, (x0, y0, x0 + w, y0 + h), angle, 255)
        mask = np.asarray(mask_img) > 127
        if mask.sum() < 4:
            continue
        if spec.min_contrast > 0:
            colour = _contrasting(colour, _luminance(bg[mask].mean(axis=0)), spec.min_contrast, rng)
        img.paste(colour, (0, 0), mask_img)
        owner[mask] = len(drawn)
        drawn.append((label, int(mask.sum())))
    objects = []
    for k, (label, total) in enumerate(drawn):
        ys, xs = np.nonzero(owner == k)
        if len(xs) < max(4, MIN_VISIBLE * total):
            continue
        objects.append((label, (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1), len(xs)))
    return img, objects


def _luminance(rgb: np.ndarray | tuple[int, ...]) -> float:
    r, g, b = (float(c) for c in rgb)
    return 0.299 * r + 0.587 * g + 0.114 * b


def _contrasting(colour: tuple[int, ...], background: float, least: float, rng: np.random.Generator) -> tuple[int, ...]:
    """`colour`, or a redrawn one, whose luminance differs from `background` by at least `least`."""
    for _ in range(32):
        if abs(_luminance(colour) - background) >= least:
            return colour
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
    return (255, 255, 255) if background < 128 else (0, 0, 0)


def _background(s: int, rng: np.random.Generator, texture: float = 1.0) -> Image.Image:
    """Smooth colour noise plus fine grain (scaled by `texture`): a texture, not a flat colour."""
    coarse = rng.integers(0, 256, (int(rng.integers(3, 9)),) * 2 + (3,)).astype(np.float32)
    coarse = coarse.mean() + (coarse - coarse.mean()) * texture
    base = Image.fromarray(np.clip(coarse, 0, 255).astype(np.uint8)).resize((s, s), Image.Resampling.BICUBIC)
    grain = rng.normal(0, rng.uniform(4, 18) * texture, (s, s, 3))
    arr = np.clip(np.asarray(base, dtype=np.float32) * rng.uniform(0.5, 1.0) + grain, 0, 255).astype(np.uint8)
    return Image.fromarray(arr).filter(ImageFilter.SMOOTH) if rng.random() < 0.5 else Image.fromarray(arr)


def _clutter(draw: ImageDraw.ImageDraw, s: int, n: int, rng: np.random.Generator) -> None:
    """Distractors that are not objects: lines, arcs, dots and soft blobs in random colours."""
    for _ in range(n):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        kind = rng.integers(4)
        x1, y1, x2, y2 = (float(v) for v in rng.uniform(0, s, 4))
        width = int(rng.integers(1, max(2, s // 40)))
        if kind == 0:
            draw.line((x1, y1, x2, y2), fill=colour, width=width)
        elif kind == 1:
            box = (min(x1, x2), min(y1, y2), max(x1, x2) + 2, max(y1, y2) + 2)
            draw.arc(box, float(rng.uniform(0, 360)), float(rng.uniform(0, 360)), fill=colour, width=width)
        elif kind == 2:
            r = rng.uniform(1, 3)
            draw.ellipse((x1 - r, y1 - r, x1 + r, y1 + r), fill=colour)
        else:
            pts = [(x1 + rng.uniform(-s / 8, s / 8), y1 + rng.uniform(-s / 8, s / 8)) for _ in range(int(rng.integers(3, 7)))]
            draw.line(pts + pts[:1], fill=colour, width=width)


def _shape(draw: ImageDraw.ImageDraw, label: int, box: tuple[float, float, float, float], angle: float, fill: int) -> None:
    """Draw category `label` filling `box` (rotation where the shape has one)."""
    x0, y0, x1, y1 = box
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2

    def poly(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        ca, sa = math.cos(angle), math.sin(angle)
        rot = [(px * ca - py * sa, px * sa + py * ca) for px, py in points]
        mx = max(abs(p[0]) for p in rot) or 1.0
        my = max(abs(p[1]) for p in rot) or 1.0
        return [(cx + px / mx * rx, cy + py / my * ry) for px, py in rot]

    name = CATEGORIES[label]
    if name == "disc":
        draw.ellipse(box, fill=fill)
    elif name == "ring":
        draw.ellipse(box, fill=fill)
        draw.ellipse((cx - rx * 0.55, cy - ry * 0.55, cx + rx * 0.55, cy + ry * 0.55), fill=0)
    elif name == "square":
        draw.polygon(poly([(-1, -1), (1, -1), (1, 1), (-1, 1)]), fill=fill)
    elif name == "triangle":
        draw.polygon(poly([(math.cos(a), math.sin(a)) for a in (0, 2 * math.pi / 3, 4 * math.pi / 3)]), fill=fill)
    elif name == "cross":
        t = 0.3
        pts = [(-t, -1), (t, -1), (t, -t), (1, -t), (1, t), (t, t), (t, 1), (-t, 1), (-t, t), (-1, t), (-1, -t), (-t, -t)]
        draw.polygon(poly(pts), fill=fill)
    else:  # star
        pts = [((1.0 if k % 2 == 0 else 0.45) * math.cos(math.pi * k / 5), (1.0 if k % 2 == 0 else 0.45) * math.sin(math.pi * k / 5)) for k in range(10)]
        draw.polygon(poly(pts), fill=fill)
