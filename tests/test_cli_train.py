import json

import pytest
import torch

from nas.commands.cli import main
from nas.settings.schemas import proxy_config
from proxy_tasks.retinanet import build_detector
from search_space import get_architecture, get_preset


@pytest.mark.slow
def test_train_writes_metrics_and_a_safe_checkpoint(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "arch=resnet50_fpn", "proxy=synthetic_tiny", "proxy.epochs=1", "proxy.data.max_train_images=32", "proxy.data.max_val_images=8"]
    assert main([*args, f"out_dir={out}"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    printed = json.loads(line)
    written = json.loads((out / "metrics.json").read_text())
    assert printed == written and written["arch_name"] == "resnet50_fpn" and 0 <= written["AP"] <= 1
    assert (out / "config.yaml").exists() and (out / "arch.yaml").exists()
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ckpt["arch"]["name"] == "resnet50_fpn" and ckpt["metrics"]["AP"] == written["AP"]
    cfg = proxy_config(ckpt["proxy"])
    model = build_detector(get_architecture("resnet50_fpn"), ckpt["num_classes"], cfg.detector_config(get_preset("resnet50_fpn")))
    model.load_state_dict(ckpt["model"])  # every tensor is there, with the right shape


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "proxy.epochz=3"], "unknown config key 'proxy.epochz'"),
        (["train", "proxy=coco"], "missing value for proxy.data.train_ann"),
        (["train", "proxy=nope"], "Could not find 'proxy/nope'"),
        (["train", "arch=spinenet50"], "'spinenet50' is neither a catalog architecture"),
        (["train", "proxy=custom", "proxy.data.train_ann=/nope.json", "proxy.data.train_images=/", "proxy.data.val_ann=/nope.json", "proxy.data.val_images=/"], "/nope.json: annotation file not found"),
    ],
)
def test_train_bad_input_is_one_line_exit_2(args, message, tmp_path, capsys):
    code, stderr = main([*args, f"out_dir={tmp_path / 'o'}"]), capsys.readouterr().err  # in-process: main's code is the process's (tests/test_search.py)
    assert code == 2, stderr
    assert message in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_split_writes_two_files(tmp_path):
    from tests.test_data import write_quirky_dataset

    write_quirky_dataset(tmp_path)
    assert main(["split", str(tmp_path / "ann.json"), "--holdout", "1", "--out-dir", str(tmp_path / "s")]) == 0
    rest = json.loads((tmp_path / "s" / "ann_minus1.json").read_text())
    held = json.loads((tmp_path / "s" / "ann_holdout1.json").read_text())
    assert len(rest["images"]) == 3 and len(held["images"]) == 1


def test_full_recipe_takes_the_models_preset():
    from nas.settings.schemas import compose, proxy_config

    cfg = compose("train", ["proxy=full", "arch=spinenet96", *[f"proxy.data.{k}=x" for k in ("train_ann", "train_images", "val_ann", "val_images")]])
    proxy = proxy_config(cfg.proxy)
    preset = get_preset("spinenet96")
    det = proxy.detector_config(preset)
    assert proxy.image_size is None and (proxy.epochs, proxy.batch_size, proxy.optim.lr, proxy.optim.warmup_steps) == (350, 256, 0.28, 2000)
    assert det.backbone == preset.backbone_config()  # scale 1.0, alpha 0.5, 2 repeats, 256 endpoints, swish, 0.2
    assert (det.head_filters, det.head_convs, det.anchors.anchor_size) == (256, 4, 3.0)
