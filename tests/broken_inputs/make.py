"""Writes this folder of broken inputs (committed; re-run to re-create): every case is a file or a
small dataset that breaks one rule, and tests/test_broken_inputs.py runs the CLI on each and expects
one line naming the file, the record and the rule, exit 2, and nothing written.

Run from the repository root: .venv/bin/python tests/broken_inputs/make.py
"""

from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent
HEAD = "filename,width,height,class,xmin,ymin,xmax,ymax\n"


def jpg(path: Path, size: tuple[int, int] = (64, 48)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (90, 120, 150)).save(path, quality=50)


def csv_set(name: str, train_rows: list[str], val_rows: list[str]) -> Path:
    d = ROOT / name
    for im in ("a.jpg", "b.jpg"):
        jpg(d / "images" / im)
    (d / "train.csv").write_text(HEAD + "".join(r + "\n" for r in train_rows))
    (d / "val.csv").write_text(HEAD + "".join(r + "\n" for r in val_rows))
    return d


def voc_xml(name: str, box: tuple[int, int, int, int]) -> str:
    return (
        f"<annotation><filename>{name}.jpg</filename><size><width>64</width><height>48</height><depth>3</depth></size>"
        f"<object><name>cat</name><bndbox><xmin>{box[0]}</xmin><ymin>{box[1]}</ymin><xmax>{box[2]}</xmax><ymax>{box[3]}</ymax></bndbox></object></annotation>\n"
    )


def main() -> None:
    (ROOT / "spec_not_yaml.yaml").write_text("name: broken\nblocks: [\n")
    (ROOT / "spec_bad_level.yaml").write_text(
        "name: bad-level\nstem: [{level: 2, block_fn: bottleneck, repeats: 1}]\nblocks:\n  - {level: 9, block_fn: bottleneck, parents: [0, 0], is_output: true}\n"
    )
    d = ROOT / "coco_not_json"
    jpg(d / "images" / "a.jpg")
    (d / "train.json").write_text('{"images": [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48}], "annotations": [\n')
    good_train, good_val = ["a.jpg,64,48,cat,4,6,30,40"], ["b.jpg,64,48,cat,10,10,40,30"]
    csv_set("csv_zero_width_box", ["a.jpg,64,48,cat,4,6,4,40", "a.jpg,64,48,cat,10,6,30,40"], good_val)
    csv_set("csv_no_boxes", ["a.jpg,64,48,cat,4,6,4,40"], good_val)
    d = csv_set("csv_truncated_image", good_train, good_val)
    data = (d / "images" / "a.jpg").read_bytes()
    (d / "images" / "a.jpg").write_bytes(data[: len(data) // 2])
    d = csv_set("csv_undecodable_image", good_train, good_val)
    (d / "images" / "a.jpg").write_text("this is not an image\n")
    d = csv_set("csv_size_mismatch", good_train, good_val)
    jpg(d / "images" / "a.jpg", (32, 32))
    csv_set("csv_missing_image", [*good_train, "c.jpg,64,48,cat,4,6,30,40"], good_val)
    d = ROOT / "yolo_no_labels"
    for split in ("train", "val"):
        jpg(d / "images" / split / f"{split}1.jpg")
    (d / "data.yaml").write_text("path: .\ntrain: images/train\nval: images/val\nnames: [cat]\n")
    (d / "label" / "train").mkdir(parents=True, exist_ok=True)
    (d / "label" / "train" / "train1.txt").write_text("0 0.5 0.5 0.2 0.2\n")  # labels/ misnamed: every image would read as background
    d = ROOT / "voc_zero_width_box"
    for name in ("a", "b"):
        jpg(d / "JPEGImages" / f"{name}.jpg")
    (d / "Annotations").mkdir(parents=True, exist_ok=True)
    (d / "Annotations" / "a.xml").write_text(voc_xml("a", (10, 6, 10, 40)))
    (d / "Annotations" / "b.xml").write_text(voc_xml("b", (4, 6, 30, 40)))
    (d / "ImageSets" / "Main").mkdir(parents=True, exist_ok=True)
    (d / "ImageSets" / "Main" / "train.txt").write_text("a\n")
    (d / "ImageSets" / "Main" / "val.txt").write_text("b\n")


if __name__ == "__main__":
    main()
