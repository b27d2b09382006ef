"""Decode and resize every image once into a uint8 memory-mapped array, reused by every trial.

Each image is resized so its longer side is `size` (aspect kept) and padded at the bottom and right
to `size` x `size` with the mean colour (`proxy_tasks.pixels`). The cache is keyed by the annotation file's path, size and modification time,
the image folder and `size`, and built atomically (temp file, then rename), so concurrent trials
on one machine share it and an interrupted build leaves nothing half-written behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image, UnidentifiedImageError

from proxy_tasks.data import BadImageError, CocoDataset, DatasetError
from proxy_tasks.pixels import PAD_RGB, PIXEL_LAYOUT
from search_space.fileio import atomic_write_text
from search_space.fileio import cache_dir as default_cache_dir  # `$SPINENAS_CACHE`, else ~/.cache/spinenas


@dataclass(frozen=True)
class ImageCache:
    """Resized, padded images of a dataset: `images[i]` is (size, size, 3) uint8 for record i."""

    images: np.ndarray  # (N, S, S, 3) uint8, memory-mapped
    scales: np.ndarray  # (N,) resize factor of each image (input pixels per original pixel)
    size: int


def cache_key(ds: CocoDataset, size: int) -> str:
    """Stable key of a dataset's cache at `size`."""
    if ds.fingerprint:  # labels read from another format: their content identifies them
        ident = f"{ds.fingerprint}|{ds.image_dir.resolve()}|{size}"
    else:
        st = ds.ann_file.stat()
        ident = f"{ds.ann_file.resolve()}|{st.st_size}|{st.st_mtime_ns}|{ds.image_dir.resolve()}|{size}"
    return hashlib.sha256(f"{ident}|{PIXEL_LAYOUT}".encode()).hexdigest()[:16]  # caches padded black (before 2026-12-07) are not reused


def scan_images(ds: CocoDataset, root: Path | None = None) -> tuple[int, dict[int, BadImageError]]:
    """Decode every image of `ds` once, as the cache build will (`load_image`), so a broken image is
    found at start-up instead of minutes into a run; returns how many were decoded now and, per record index,
    the images that cannot be decoded or are cut short (the caller drops or refuses them). Other
    problems (a missing file, a size other than the record's, an oversized image) raise at once:
    they say the labels or the path are wrong, not that one file is damaged. Images already
    verified (same path, byte size and modification time) are remembered under the cache folder
    and skipped, so this costs once per dataset; bad ones are decoded again each time."""
    record_path = (root or default_cache_dir()) / "verified" / f"{hashlib.sha256(str(ds.image_dir.resolve()).encode()).hexdigest()[:16]}.json"
    try:
        verified = set(json.loads(record_path.read_text()))
    except (OSError, ValueError):
        verified = set()
    fresh, bad = [], {}
    for k, rec in enumerate(ds.images):
        path = ds.image_path(rec)
        try:
            st = path.stat()
        except FileNotFoundError:
            raise DatasetError(f"{ds.ann_file}: image {rec.id}: file {path} is missing") from None
        key = f"{rec.file_name}|{st.st_size}|{st.st_mtime_ns}|{rec.width}x{rec.height}"
        if key in verified:
            continue
        try:
            load_image(path, rec.id, (rec.width, rec.height), ds.max_pixels).close()
        except BadImageError as e:
            bad[k] = BadImageError(f"{ds.ann_file}: {e}", e.why)
            continue
        except DatasetError as e:
            raise DatasetError(f"{ds.ann_file}: {e}") from None
        fresh.append(key)
    if fresh:
        atomic_write_text(record_path, json.dumps(sorted(verified | set(fresh))))
    return len(fresh) + len(bad), bad


_LIMIT = threading.Lock()  # Pillow's limit is one global: images opened under another limit take turns


@contextlib.contextmanager
def _pixel_limit(max_pixels: int | None) -> Iterator[None]:
    """Pillow's decompression-bomb limit set to `max_pixels` while an image is opened (None: left as it is)."""
    if max_pixels is None:
        yield
        return
    with _LIMIT:
        before = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = before


def load_image(path: Path, image_id: int, expected: tuple[int, int], max_pixels: int | None = None) -> Image.Image:
    """Open an image as RGB (grey, RGBA and palette images are converted); errors name the file:
    missing, undecodable or truncated, another size than its record, or beyond the
    decompression-bomb limit (`max_pixels`, `proxy.data.max_image_pixels`; None: Pillow's
    `Image.MAX_IMAGE_PIXELS`, which warns from it and refuses from twice it: both refused here)."""
    try:
        with warnings.catch_warnings(), _pixel_limit(max_pixels):
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(path)
        with im:
            im.load()
            if im.size != expected:
                raise DatasetError(
                    f"image {image_id}: {path} is {im.size[0]}x{im.size[1]}, its record says {expected[0]}x{expected[1]}"
                )
            return im.convert("RGB")
    except FileNotFoundError:
        raise DatasetError(f"image {image_id}: file {path} is missing") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise DatasetError(f"image {image_id}: {path} is oversized ({e}; proxy.data.max_image_pixels=N reads images up to N pixels)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        if isinstance(e, DatasetError):
            raise
        truncated = "truncat" in str(e).lower()
        if isinstance(e, OSError) and not isinstance(e, UnidentifiedImageError) and not truncated and (e.errno is not None or isinstance(e, PermissionError)):
            raise DatasetError(f"image {image_id}: cannot read {path} ({e})") from None  # the file system's error, not a damaged image
        why = "truncated" if truncated else "not an image Pillow can decode"
        raise BadImageError(f"image {image_id}: cannot decode {path}, {why} ({e}; proxy.data.bad_images=drop drops such images)", "truncated" if truncated else "undecodable") from None


def resize_pad(im: Image.Image, size: int) -> tuple[np.ndarray, float]:
    """Resize so the longer side is `size`, pad to square with the mean colour; returns
    (size, size, 3) uint8 and the scale."""
    w, h = im.size
    scale = size / max(w, h)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    out = np.empty((size, size, 3), dtype=np.uint8)
    out[:] = PAD_RGB
    out[:nh, :nw] = np.asarray(im.resize((nw, nh), Image.Resampling.BILINEAR))
    return out, scale


def build_cache(ds: CocoDataset, size: int, cache_dir: Path | None = None, num_workers: int = 2) -> ImageCache:
    """The image cache of `ds` at `size`, built on first use."""
    root = (cache_dir or default_cache_dir()) / "images"
    root.mkdir(parents=True, exist_ok=True)
    key = cache_key(ds, size)
    data_path, meta_path = root / f"{key}.u8", root / f"{key}.json"
    n = len(ds.images)
    if meta_path.exists() and data_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("count") == n and meta.get("size") == size:
            images = np.memmap(data_path, dtype=np.uint8, mode="r", shape=(n, size, size, 3))
            return ImageCache(images, np.asarray(meta["scales"], dtype=np.float64), size)
    tmp = root / f".{key}.{os.getpid()}.u8.tmp"
    arr = np.memmap(tmp, dtype=np.uint8, mode="w+", shape=(n, size, size, 3))
    scales = np.zeros(n, dtype=np.float64)

    def one(i: int) -> None:
        rec = ds.images[i]
        im = load_image(ds.image_path(rec), rec.id, (rec.width, rec.height), ds.max_pixels)
        arr[i], scales[i] = resize_pad(im, size)

    try:
        with ThreadPoolExecutor(max(1, num_workers)) as pool:
            list(pool.map(one, range(n)))
        arr.flush()
        os.replace(tmp, data_path)
    except DatasetError as e:
        raise DatasetError(f"{ds.ann_file}: {e}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    atomic_write_text(meta_path, json.dumps({"count": n, "size": size, "scales": scales.tolist(), "ann_file": str(ds.ann_file)}))
    images = np.memmap(data_path, dtype=np.uint8, mode="r", shape=(n, size, size, 3))
    return ImageCache(images, scales, size)
