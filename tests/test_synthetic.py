import dataclasses
import json

import numpy as np

from proxy_tasks.data import load_coco
from proxy_tasks.synthetic import SyntheticSpec, ensure_synthetic, render_image


def test_deterministic_from_seed(tmp_path):
    spec = SyntheticSpec("t", seed=5, num_train=6, num_val=2, image_size=128)
    a = ensure_synthetic(spec, tmp_path / "a")
    b = ensure_synthetic(spec, tmp_path / "b")
    assert a.train_ann.read_text() == b.train_ann.read_text()
    files_a = sorted(p.relative_to(a.train_images) for p in a.train_images.rglob("*.jpg"))
    assert files_a == sorted(p.relative_to(b.train_images) for p in b.train_images.rglob("*.jpg"))
    assert (a.train_images / files_a[0]).read_bytes() == (b.train_images / files_a[0]).read_bytes()
    other = ensure_synthetic(dataclasses.replace(spec, seed=6), tmp_path / "a")
    assert other.train_ann.read_text() != a.train_ann.read_text()


def test_valid_coco_with_objects_of_every_size(tmp_path):
    spec = SyntheticSpec("t", seed=0, num_train=80, num_val=10, image_size=256)
    paths = ensure_synthetic(spec, tmp_path)
    ds = load_coco(paths.train_ann, paths.train_images)
    assert ds.num_classes == 6 and len(ds.images) == 80
    sides = np.concatenate([np.sqrt((r.boxes[:, 2] - r.boxes[:, 0]) * (r.boxes[:, 3] - r.boxes[:, 1])) for r in ds.images])
    assert (sides < 32).mean() > 0.2 and ((sides >= 32) & (sides < 96)).mean() > 0.15 and (sides >= 96).mean() > 0.05
    assert np.mean([len(r.boxes) for r in ds.images]) > 2.5
    assert json.loads(paths.val_ann.read_text())["images"][0]["id"] == 81  # ids unique across splits


def test_boxes_cover_visible_pixels_only():
    spec = SyntheticSpec("t", image_size=128, max_objects=8)
    img, objects = render_image(spec, np.random.default_rng(1))
    assert img.size == (128, 128) and objects
    for _label, (x1, y1, x2, y2), area in objects:
        assert 0 <= x1 < x2 <= 128 and 0 <= y1 < y2 <= 128 and 0 < area <= (x2 - x1) * (y2 - y1)


def test_contrast_and_texture_knobs():
    plain = SyntheticSpec("t", image_size=128, max_objects=6, clutter=0, texture=0.0, min_contrast=80.0)
    rng = np.random.default_rng(3)
    for _ in range(5):
        img, objects = render_image(plain, rng)
        arr = np.asarray(img, dtype=np.float32)
        lum = arr @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        assert arr.reshape(-1, 3).std(axis=0).max() < 60  # flat background (objects aside)
        background = float(np.median(lum))
        for _label, (x1, y1, x2, y2), _area in objects:
            patch = lum[y1:y2, x1:x2]
            # The object's own pixels (the most extreme in its box) stand out from the background.
            assert np.abs(patch - background).max() >= 60
