"""The folder of broken inputs (tests/broken_inputs, written by its make.py): each one, given to the
CLI as a user would, ends in one line naming the file, the record and the rule, exit 2, with
nothing written."""

from pathlib import Path

import pytest

from nas.commands.cli import main

B = Path(__file__).resolve().parent / "broken_inputs"


def csv_data(name: str, *extra: str) -> list[str]:
    d = B / name
    return ["proxy=custom", "proxy.data.format=csv", f"proxy.data.train_ann={d / 'train.csv'}", f"proxy.data.val_ann={d / 'val.csv'}",
            f"proxy.data.train_images={d / 'images'}", *extra]  # fmt: skip


CASES = {
    "spec_not_yaml": (["show", str(B / "spec_not_yaml.yaml")], ["spec_not_yaml.yaml", "line 3", "not valid YAML"]),
    "spec_bad_level": (["show", str(B / "spec_bad_level.yaml")], ["spec_bad_level.yaml", "level"]),
    "coco_not_json": (["data", "stats", "proxy=custom", f"proxy.data.train_ann={B / 'coco_not_json/train.json'}", f"proxy.data.train_images={B / 'coco_not_json/images'}",
                       f"proxy.data.val_ann={B / 'coco_not_json/train.json'}", f"proxy.data.val_images={B / 'coco_not_json/images'}"],
                      ["coco_not_json/train.json", "line 2", "not valid JSON"]),
    "csv_zero_width_box": (["data", "stats", *csv_data("csv_zero_width_box", "proxy.data.bad_boxes=error")], ["csv_zero_width_box/train.csv", "line 2", "empty box"]),
    "csv_no_boxes": (["data", "stats", *csv_data("csv_no_boxes")], ["csv_no_boxes/train.csv", "training split has no boxes at all", "1 empty or sub-pixel"]),
    "csv_truncated_image": (["data", "stats", *csv_data("csv_truncated_image", "proxy.data.bad_images=error")], ["csv_truncated_image/train.csv", "image 1", "a.jpg, truncated"]),
    "csv_undecodable_image": (["data", "stats", *csv_data("csv_undecodable_image", "proxy.data.bad_images=error")], ["csv_undecodable_image/train.csv", "image 1", "not an image Pillow can decode"]),
    "csv_size_mismatch": (["data", "stats", *csv_data("csv_size_mismatch")], ["csv_size_mismatch/train.csv", "image 1", "is 32x32, its record says 64x48"]),
    "csv_missing_image": (["data", "stats", *csv_data("csv_missing_image")], ["csv_missing_image/train.csv", "c.jpg", "missing"]),
    "yolo_no_labels": (["data", "stats", "proxy=custom", "proxy.data.format=yolo", f"proxy.data.root={B / 'yolo_no_labels'}"],
                       ["yolo_no_labels/data.yaml", "split 'train'", "none of its 1 images has a label file"]),
    "voc_zero_width_box": (["search", "proxy=custom", "proxy.data.format=voc", f"proxy.data.root={B / 'voc_zero_width_box'}", "proxy.data.bad_boxes=error"],
                           ["a.xml", "object #1 (cat)", "empty box"]),
    "wrong_config_key": (["search", "proxy.epochz=3"], ["unknown config key 'proxy.epochz'"]),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_broken_input_is_one_line_exit_2_and_writes_nothing(case, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SPINENAS_CACHE", str(tmp_path / "cache"))
    argv, fragments = CASES[case]
    out = tmp_path / "out"
    if argv[0] == "search":
        argv = [*argv, f"out_dir={out}"]
    before = sorted(p.relative_to(B) for p in B.rglob("*"))
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"spinenas {argv[0]}: error: "), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert "Traceback" not in captured.err and not out.exists()
    assert sorted(p.relative_to(B) for p in B.rglob("*")) == before  # nothing written next to the user's files
