"""`spinenas data stats|convert`: what a dataset holds, and its labels as COCO JSON.

Both take the same `proxy.data.*` overrides as `spinenas search` (with `proxy=custom`), so what
they read is exactly what a search would train on.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Sequence

from nas.evaluators import evaluator_kind
from nas.settings.schemas import compose, proxy_config
from proxy_tasks.data import CocoDataset
from proxy_tasks.datasets import load_datasets
from proxy_tasks.stats import dataset_stats
from search_space.errors import ConfigError
from search_space.fileio import atomic_write_text, refuse_overwrite


def read_data(overrides: Sequence[str]) -> tuple[CocoDataset, CocoDataset, str]:
    """The train and val datasets the configured proxy would use, and a line naming them."""
    proxy = proxy_config(compose("search", overrides).proxy)
    if not evaluator_kind(proxy).needs_data:
        raise ConfigError(f"proxy={proxy.label} reads no dataset; choose proxy=custom with proxy.data.* keys")
    train, val = load_datasets(proxy.data)
    return train, val, proxy.data.describe()


def data_stats(overrides: Sequence[str]) -> dict[str, Any]:
    """Statistics of both splits (see `proxy_tasks.stats`)."""
    train, val, source = read_data(overrides)
    return dataset_stats(train, val, source)


def convert(overrides: Sequence[str], out_dir: Path, force: bool = False) -> list[Path]:
    """Write train.json and val.json (COCO detection format, file names relative to each split's
    image folder, which is recorded in the printout); nothing is written if reading fails. Existing
    files are refused unless `force`; a file the dataset itself is read from, always."""
    targets = [out_dir / "train.json", out_dir / "val.json"]
    refuse_overwrite(targets, force)
    proxy = proxy_config(compose("search", overrides).proxy)
    sources = {Path(str(p)).resolve() for p in (getattr(getattr(proxy, "data", None), k, None) for k in ("train_ann", "val_ann")) if p}
    for path in targets:
        if path.resolve() in sources:
            raise ConfigError(f"{path} is the dataset's own annotation file; write the converted labels into another folder")
    print(f"data convert: writing into {out_dir}", file=sys.stderr)
    train, val, _ = read_data(overrides)
    paths = []
    for name, ds in (("train", train), ("val", val)):
        path = out_dir / f"{name}.json"
        ids = {r.id for r in ds.images}
        coco = dict(ds.coco, images=[i for i in ds.coco["images"] if i["id"] in ids], annotations=[a for a in ds.coco["annotations"] if a["image_id"] in ids])
        atomic_write_text(path, json.dumps(coco))
        paths.append(path)
    return paths
