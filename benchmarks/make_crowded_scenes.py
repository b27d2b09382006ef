"""Generate a crowded detection dataset unlike the built-in one, in YOLO layout, for `spinenas proxy-design`.

Where the built-in `shapes` set has two classes of 8 px to 96 px objects on square 128 px images,
this one has four classes of smaller objects (15 to ~50 px; 15% of the image side at the median,
against ~20% there and 69% in the raccoon photographs), up to 20 per image, on images of varied
size and aspect (128 to 256 px a side), with clutter strokes that are not objects.

    python benchmarks/make_crowded_scenes.py /tmp/crowded [--train 320 --val 160 --seed 0]

Writes data.yaml, images/{train,val}/*.jpg and labels/{train,val}/*.txt (class cx cy w h).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np

from proxy_tasks.synthetic import CATEGORIES, SyntheticSpec, render_image

SPEC = SyntheticSpec("crowded", image_size=256, min_object=15.0, max_object=0.2, max_objects=20, clutter=6, num_categories=4, texture=0.5, min_contrast=50.0)
MIN_SIDE = 128


def write(root: Path, num_train: int, num_val: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    tmp = root.with_name(root.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for split, count in (("train", num_train), ("val", num_val)):
        (tmp / "images" / split).mkdir(parents=True)
        (tmp / "labels" / split).mkdir(parents=True)
        for k in range(count):
            img, objects = render_image(SPEC, rng)
            w, h = (int(v) for v in rng.integers(MIN_SIDE, SPEC.image_size + 1, 2))
            ox, oy = int(rng.integers(0, SPEC.image_size - w + 1)), int(rng.integers(0, SPEC.image_size - h + 1))
            img = img.crop((ox, oy, ox + w, oy + h))
            lines = []
            for label, (x1, y1, x2, y2), _ in objects:
                cx1, cy1, cx2, cy2 = max(x1 - ox, 0), max(y1 - oy, 0), min(x2 - ox, w), min(y2 - oy, h)
                if cx2 - cx1 < 3 or cy2 - cy1 < 3 or (cx2 - cx1) * (cy2 - cy1) < 0.5 * (x2 - x1) * (y2 - y1):
                    continue  # mostly cropped away
                lines.append(f"{label} {(cx1 + cx2) / 2 / w:.6f} {(cy1 + cy2) / 2 / h:.6f} {(cx2 - cx1) / w:.6f} {(cy2 - cy1) / h:.6f}")
            img.save(tmp / "images" / split / f"{k:05d}.jpg", quality=92)
            (tmp / "labels" / split / f"{k:05d}.txt").write_text("".join(line + "\n" for line in lines))
    names = list(CATEGORIES[: SPEC.num_categories])
    (tmp / "data.yaml").write_text(f"path: .\ntrain: images/train\nval: images/val\nnc: {len(names)}\nnames: [{', '.join(names)}]\n")
    shutil.rmtree(root, ignore_errors=True)
    tmp.rename(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--train", type=int, default=320)
    parser.add_argument("--val", type=int, default=160)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    write(args.out, args.train, args.val, args.seed)
    print(args.out)


if __name__ == "__main__":
    main()
