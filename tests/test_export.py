"""Exported backbones: the torchvision-style module, TorchScript / ONNX / state-dict files read
back as another program reads them, and `spinenas export` from a spec or a train checkpoint."""

import json
import subprocess
import sys
from collections import OrderedDict

import pytest
import torch
from omegaconf import OmegaConf

from nas.commands.cli import main
from nas.settings.schemas import compose, proxy_config
from nas.commands.export import ExportRequest, export
from proxy_tasks.retinanet import build_detector
from search_space import build_backbone, get_architecture, get_preset, spinenet_backbone
from search_space.export import max_difference, run_exported, save_module

# SpineNAS's packages made unimportable: the loading program has only torch.
WITHOUT_SPINENAS = """
import sys
for name in ("search_space", "proxy_tasks", "nas"):
    sys.modules[name] = None
import torch
module = torch.jit.load(sys.argv[1])
images, expected = torch.load(sys.argv[2], weights_only=True)
with torch.no_grad():
    out = module(images)
print(list(out), max(float((out[k] - expected[k]).abs().max()) for k in expected))
"""


def small(**kw):
    """SpineNet-49S: the smallest catalog preset, quick to trace."""
    return spinenet_backbone("spinenet49", preset="spinenet49s", **kw).eval()


def test_torchvision_shape_and_padding():
    b = small()
    assert b.out_channels == 128 and isinstance(b.out_channels, int)
    assert b.strides == {"p3": 8, "p4": 16, "p5": 32, "p6": 64, "p7": 128}
    with torch.no_grad():
        out = b(torch.randn(2, 3, 200, 130))  # padded to 256 x 256
    assert isinstance(out, OrderedDict) and list(out) == ["p3", "p4", "p5", "p6", "p7"]
    assert [tuple(f.shape) for f in out.values()] == [(2, 128, 256 // s, 256 // s) for s in (8, 16, 32, 64, 128)]


def test_same_features_as_the_builder():
    arch, preset = get_architecture("spinenet49"), get_preset("spinenet49s")
    body = build_backbone(arch, **vars(preset.backbone_config())).eval()
    b = small()
    b.body.load_state_dict(body.state_dict())
    x = torch.randn(1, 3, 256, 256)
    with torch.no_grad():
        ours, theirs = b(x), body(x)
    assert all(torch.equal(ours[f"p{lv}"], theirs[lv]) for lv in theirs)


def test_torchscript_loads_without_spinenas(tmp_path):
    b = small(pad=False)
    path = tmp_path / "s49s.pt"
    save_module(b, path, "torchscript", torch.randn(1, 3, 256, 256))
    images = torch.randn(2, 3, 384, 256)  # another batch size and shape than traced
    with torch.no_grad():
        expected = dict(b(images))
    torch.save((images, expected), tmp_path / "expected.pt")
    proc = subprocess.run(
        [sys.executable, "-c", WITHOUT_SPINENAS, str(path), str(tmp_path / "expected.pt")],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    keys, diff = proc.stdout.rsplit("]", 1)
    assert keys == "['p3', 'p4', 'p5', 'p6', 'p7'"
    assert float(diff) < 1e-5
    # The loading side really could not import SpineNAS.
    blocked = subprocess.run([sys.executable, "-c", WITHOUT_SPINENAS.split("import torch")[0] + "import search_space"], capture_output=True)
    assert blocked.returncode != 0


def test_onnx_backbone_and_detector_match(tmp_path):
    pytest.importorskip("onnxruntime")
    for with_head in (False, True):
        record = export(ExportRequest("spinenet49", "onnx", tmp_path / f"m{with_head}.onnx", with_head=with_head, image_size=128, preset="spinenet49s", num_classes=3))
        assert record["max_abs_diff"] < 1e-4
        if with_head:
            assert record["outputs"] == ["cls_logits", "box_deltas"]
            anchors = 9 * sum((128 // 2**lv) * (256 // 2**lv) for lv in range(3, 8))  # the 128 x 256 check batch
            assert record["output_shapes"] == {"cls_logits": [2, anchors, 3], "box_deltas": [2, anchors, 4]}
        else:
            assert record["outputs"] == ["p3", "p4", "p5", "p6", "p7"]


def test_a_changed_module_is_told_apart(tmp_path):
    """The comparison can fail: the exported file against a module with other weights."""
    b = small(pad=False)
    path = tmp_path / "s.pt"
    save_module(b, path, "torchscript", torch.randn(1, 3, 128, 128))
    images = torch.randn(1, 3, 128, 128)
    outputs = run_exported(path, "torchscript", images)
    assert max_difference(b, outputs, images) < 1e-5
    with torch.no_grad():
        next(b.body.endpoints["3"].parameters()).mul_(2)
    assert max_difference(b, outputs, images) > 1e-3


def test_state_dict_round_trip_and_mismatch(tmp_path):
    b = small()
    path = tmp_path / "w.pth"
    save_module(b, path, "state_dict", torch.randn(1, 3, 128, 128))
    again = small(weights=path)
    x = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        assert all(torch.equal(u, v) for u, v in zip(b(x).values(), again(x).values()))
    with pytest.raises(ValueError, match="w.pth"):
        spinenet_backbone("spinenet49", preset="spinenet49", weights=path)  # other widths


def test_cli_from_a_train_checkpoint(tmp_path, capsys):
    """A `spinenas train` checkpoint exports with that training's settings and weights."""
    proxy_node = compose("train", ["proxy=synthetic_tiny"]).proxy
    proxy = proxy_config(proxy_node)
    arch = get_architecture("spinenet49")
    detector = build_detector(arch, 2, proxy.detector_config(get_preset("spinenet49")))
    torch.nn.init.normal_(detector.head.cls.predict.weight, std=0.1)  # not the init: the weights must travel
    ckpt = {"model": detector.state_dict(), "arch": arch.to_dict(), "num_classes": 2, "preset": "spinenet49",
            "proxy": OmegaConf.to_container(proxy_node, resolve=True)}  # fmt: skip
    torch.save(ckpt, tmp_path / "checkpoint.pt")
    out = tmp_path / "det.pt"
    assert main(["export", "--checkpoint", str(tmp_path / "checkpoint.pt"), "--format", "torchscript", "--with-head", "--out", str(out), "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["image_size"] == proxy.image_size and record["max_abs_diff"] < 1e-5
    images = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        cls, box = detector.eval()(images)
    loaded = run_exported(out, "torchscript", images)
    assert torch.allclose(loaded[0], cls, atol=1e-5) and torch.allclose(loaded[1], box, atol=1e-5)


def test_cli_bad_input_is_one_line(tmp_path, capsys):
    assert main(["export", "nosuchnet", "--format", "onnx", "--out", str(tmp_path / "x.onnx")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nosuchnet" in err[0]
    assert main(["export", "spinenet49", "--format", "onnx", "--image-size", "100", "--out", str(tmp_path / "x.onnx")]) == 2
    assert "multiple of 128" in capsys.readouterr().err
    (tmp_path / "bad.pth").write_bytes(b"not a torch file")
    assert main(["export", "spinenet49", "--format", "torchscript", "--weights", str(tmp_path / "bad.pth"), "--out", str(tmp_path / "y.pt")]) == 2
    assert "bad.pth" in capsys.readouterr().err
    assert not (tmp_path / "x.onnx").exists() and not (tmp_path / "y.pt").exists()
