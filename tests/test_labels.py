"""The VOC, YOLO and CSV readers: one dataset written in each format reads to the same records,
the real raccoon photographs read the same from their VOC files and their CSV split, and every
broken variant is refused with one line naming the file, the record and the rule (exit 2)."""

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nas.commands.cli import main
from proxy_tasks.data import DatasetError
from proxy_tasks.datasets import DataConfig, load_datasets

RACCOON = Path(__file__).resolve().parents[2] / "shared" / "data" / "raccoon"
CLASSES = ("cat", "dog")
# file, (width, height), boxes (class, x1, y1, x2, y2); val is the last image
IMAGES = [
    ("a.jpg", (64, 48), [("cat", 4, 6, 30, 40), ("dog", 32, 2, 60, 20)]),
    ("b.jpg", (40, 80), [("dog", 0, 0, 40, 80)]),
    ("c.jpg", (50, 50), [("cat", 10, 10, 20, 22)]),
]


def write_images(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, size, _ in IMAGES:
        Image.new("RGB", size, (90, 120, 150)).save(folder / name)


def write_voc(root: Path) -> DataConfig:
    write_images(root / "JPEGImages")
    (root / "Annotations").mkdir()
    for name, (w, h), boxes in IMAGES:
        objects = "".join(
            f"<object><name>{c}</name><difficult>0</difficult><bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin>"
            f"<xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>"
            for c, x1, y1, x2, y2 in boxes
        )
        xml = f"<annotation><filename>{name}</filename><size><width>{w}</width><height>{h}</height><depth>3</depth></size>{objects}</annotation>"
        (root / "Annotations" / f"{Path(name).stem}.xml").write_text(xml)
    (root / "ImageSets" / "Main").mkdir(parents=True)
    (root / "ImageSets" / "Main" / "train.txt").write_text("a\nb\n")
    (root / "ImageSets" / "Main" / "val.txt").write_text("c\n")
    return DataConfig(format="voc", root=str(root))


def write_yolo(root: Path) -> DataConfig:
    for split, items in (("train", IMAGES[:2]), ("val", IMAGES[2:])):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for name, (w, h), boxes in items:
            Image.new("RGB", (w, h)).save(root / "images" / split / name)
            lines = [f"{CLASSES.index(c)} {(x1 + x2) / 2 / w} {(y1 + y2) / 2 / h} {(x2 - x1) / w} {(y2 - y1) / h}" for c, x1, y1, x2, y2 in boxes]
            (root / "labels" / split / f"{Path(name).stem}.txt").write_text("\n".join(lines) + "\n")
    (root / "data.yaml").write_text("path: .\ntrain: images/train\nval: images/val\nnames: [cat, dog]\n")
    return DataConfig(format="yolo", root=str(root))


def write_csv(root: Path) -> DataConfig:
    write_images(root / "images")
    header = "filename,width,height,class,xmin,ymin,xmax,ymax\n"
    for split, items in (("train", IMAGES[:2]), ("val", IMAGES[2:])):
        rows = [f"{n},{w},{h},{c},{x1},{y1},{x2},{y2}\n" for n, (w, h), boxes in items for c, x1, y1, x2, y2 in boxes]
        (root / f"{split}.csv").write_text(header + "".join(rows))
    return DataConfig(format="csv", train_ann=str(root / "train.csv"), val_ann=str(root / "val.csv"), train_images=str(root / "images"))


WRITERS = {"voc": write_voc, "yolo": write_yolo, "csv": write_csv}


def records(ds):
    return {Path(r.file_name).name: (r.width, r.height, r.boxes.round(3).tolist(), r.labels.tolist()) for r in ds.images}


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_every_format_reads_to_the_same_records(tmp_path, fmt):
    train, val = load_datasets(WRITERS[fmt](tmp_path))
    assert train.category_names == CLASSES == val.category_names
    expected = {n: (w, h, [[x1, y1, x2, y2] for _, x1, y1, x2, y2 in b], [CLASSES.index(c) for c, *_ in b]) for n, (w, h), b in IMAGES}
    got = {**records(train), **records(val)}
    assert got == {n: (w, h, [[float(v) for v in box] for box in bx], lb) for n, (w, h, bx, lb) in expected.items()}
    assert sorted(records(val)) == ["c.jpg"]
    assert train.fingerprint and train.fingerprint != val.fingerprint  # the image cache tells the splits apart


def test_voc_difficult_objects_are_crowd_regions_and_val_fraction_splits(tmp_path):
    cfg = write_voc(tmp_path)
    xml = tmp_path / "Annotations" / "a.xml"
    xml.write_text(xml.read_text().replace("<difficult>0</difficult>", "<difficult>1</difficult>", 1))
    train, _ = load_datasets(cfg)
    a = next(r for r in train.images if r.file_name == "a.jpg")
    assert a.labels.tolist() == [1]  # the difficult cat is not a training target
    assert [x["iscrowd"] for x in train.coco["annotations"] if x["image_id"] == a.id] == [1, 0]  # COCOeval ignores it
    cfg.val_fraction = 0.34
    train, val = load_datasets(cfg)
    assert len(train.images) == 2 and len(val.images) == 1


RACCOON_SUBSET = Path(__file__).resolve().parent / "data" / "raccoon-subset"  # 9 of the photographs, committed: every install reads them


@pytest.mark.parametrize(
    "root, counts",
    [
        pytest.param(RACCOON_SUBSET, ((6, 3), (8, 3)), id="subset"),
        pytest.param(RACCOON, ((160, 40), (173, 44)), id="whole", marks=pytest.mark.skipif(not RACCOON.is_dir(), reason="the whole set needs ../shared/data/raccoon (a developer's machine); the committed subset runs everywhere")),
    ],
)
def test_raccoon_reads_the_same_from_voc_xml_and_the_authors_csv(tmp_path, root, counts):
    csv_cfg = DataConfig(format="csv", train_ann=str(root / "data/train_labels.csv"), val_ann=str(root / "data/test_labels.csv"), train_images=str(root / "images"))
    train, val = load_datasets(csv_cfg)
    assert (len(train.images), len(val.images)) == counts[0]
    assert (sum(len(r.boxes) for r in train.images), sum(len(r.boxes) for r in val.images)) == counts[1]
    for name, ds in (("train", train), ("val", val)):  # the author's split as VOC id lists
        (tmp_path / f"{name}.txt").write_text("".join(Path(r.file_name).stem + "\n" for r in ds.images))
    voc_train, voc_val = load_datasets(DataConfig(format="voc", root=str(root), train_split=str(tmp_path / "train.txt"), val_split=str(tmp_path / "val.txt")))
    for a, b in ((train, voc_train), (val, voc_val)):
        ra, rb = records(a), records(b)
        assert ra.keys() == rb.keys()
        for k in ra:
            assert ra[k][:2] == rb[k][:2] and sorted(ra[k][2]) == sorted(rb[k][2])


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1))


# (format, how to break the written dataset, regex the message must match: file, record, rule)
BROKEN = [
    ("voc", lambda r: (r / "Annotations" / "a.xml").write_text("<annotation><filename>a.jpg</filename"), r"a\.xml: not well-formed XML"),
    ("voc", lambda r: _edit(r / "Annotations" / "b.xml", "<xmax>40</xmax>", "<xmax>90</xmax>"), r"b\.xml: object #1 \(dog\): box .* reaches outside its 40x80 image"),
    ("voc", lambda r: _edit(r / "Annotations" / "a.xml", "<ymin>6</ymin>", "<ymin>six</ymin>"), r"a\.xml: object #1 \(cat\): <bndbox><ymin> must be a number, got 'six'"),
    ("voc", lambda r: _edit(r / "Annotations" / "c.xml", "<name>cat</name>", "<name>cow</name>"), r"c\.xml: object #1 \(cow\): unknown class 'cow'"),
    ("voc", lambda r: _edit(r / "Annotations" / "a.xml", "<difficult>0</difficult>", "<difficult>2</difficult>"), r"a\.xml: object #1 \(cat\): <difficult> must be 0 or 1"),
    ("voc", lambda r: (r / "ImageSets/Main/val.txt").write_text("c\nzz\n"), r"val\.txt: line 2: image id 'zz' has no Annotations/zz\.xml"),
    ("voc", lambda r: (r / "ImageSets/Main/val.txt").write_text("b\n"), r"share 1 images \(e\.g\. b\): validation must be held out"),
    ("voc", lambda r: (r / "Annotations" / "a.txt").write_text("0 0.5 0.5 0.1 0.1\n"), r"Annotations: mixes label formats: .*a\.txt is a YOLO"),
    ("voc", lambda r: (r / "JPEGImages" / "b.jpg").unlink(), r"image \d+: file .*b\.jpg is missing"),
    ("yolo", lambda r: (r / "labels/train/a.txt").write_text("0 0.5 0.5 0.2\n"), r"a\.txt: line 1: expected 'class cx cy w h' \(5 fields\), got 4 fields"),
    ("yolo", lambda r: (r / "labels/train/a.txt").write_text("0 0.5 0.5 0.2 0.2\n7 0.5 0.5 0.1 0.1\n"), r"a\.txt: line 2: class '7' is not an index of names \(0\.\.1\)"),
    ("yolo", lambda r: (r / "labels/train/b.txt").write_text("1 20 40 40 80\n"), r"b\.txt: line 1: coordinates must be normalised to \[0, 1\]"),
    ("yolo", lambda r: (r / "labels/val/c.txt").write_text("0 0.5 0.5 0 0.1\n"), r"c\.txt: line 1: empty box: xmin 25 must be < xmax 25"),
    ("yolo", lambda r: (r / "labels/train/a.txt").write_text("0 0.1 0.1 0.2 0.1 0.2 0.2\n"), r"a\.txt: line 1: .*polygon \(segmentation\) label"),
    ("yolo", lambda r: _edit(r / "data.yaml", "names: [cat, dog]", "names: [cat, dog]\nnc: 3"), r"data\.yaml: nc is 3 but names lists 2 classes"),
    ("yolo", lambda r: _edit(r / "data.yaml", "val: images/val", "val: images/valid"), r"data\.yaml: val: .*images/valid is neither an image folder"),
    ("yolo", lambda r: (r / "labels/train/b.xml").write_text("<annotation/>"), r"labels: mixes label formats: .*train/b\.xml is a Pascal VOC"),
    ("csv", lambda r: _edit(r / "train.csv", "xmax,ymax", "x2,ymax"), r"train\.csv: line 1: header lacks xmax"),
    ("csv", lambda r: _edit(r / "train.csv", "a.jpg,64,48,cat,4,6,30,40", "a.jpg,64,48,cat,34,6,30,40"), r"train\.csv: line 2: empty box: xmin 34 must be < xmax 30"),
    ("csv", lambda r: _edit(r / "train.csv", "a.jpg,64,48,dog", "a.jpg,64,50,dog"), r"train\.csv: line 3: a\.jpg is 64x50 here but 64x48 in an earlier row"),
    ("csv", lambda r: _edit(r / "val.csv", ",cat,", ",bird,"), r"val\.csv: line 2: unknown class 'bird' \(classes: cat, dog\)"),
    ("csv", lambda r: _edit(r / "train.csv", "b.jpg,40,80", "b.jpg,40.5,80"), r"train\.csv: line 4: width must be a positive whole number of pixels, got '40\.5'"),
    ("csv", lambda r: _edit(r / "train.csv", "b.jpg,40,80,dog,0,0,40,80", "b.jpg,40,80,dog,0,0,40"), r"train\.csv: line 4: expected 8 fields as the header has"),
    ("csv", lambda r: (r / "val.csv").write_text("filename,width,height,class,xmin,ymin,xmax,ymax\n"), r"val\.csv: no rows under the header"),
]


@pytest.mark.parametrize("fmt,breaker,pattern", BROKEN, ids=[f"{f}-{k}" for k, (f, _, _) in enumerate(BROKEN)])
def test_broken_labels_are_refused_naming_file_record_and_rule(tmp_path, fmt, breaker, pattern):
    cfg = dataclasses.replace(WRITERS[fmt](tmp_path), bad_boxes="error")  # every rule stops the run
    load_datasets(cfg)  # the unbroken dataset reads
    breaker(tmp_path)
    with pytest.raises(DatasetError) as err:
        load_datasets(cfg)
    message = str(err.value)
    assert "\n" not in message and re.search(pattern, message), message


def test_the_cli_refuses_a_broken_dataset_in_one_line_with_exit_2(tmp_path, capsys):
    cfg = write_csv(tmp_path)
    _edit(tmp_path / "val.csv", ",cat,", ",bird,")
    args = ["data", "stats", "proxy=custom", "proxy.data.format=csv", f"proxy.data.train_ann={cfg.train_ann}", f"proxy.data.val_ann={cfg.val_ann}", f"proxy.data.train_images={cfg.train_images}"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "val.csv: line 2: unknown class 'bird'" in err and "Traceback" not in err
    _edit(tmp_path / "val.csv", ",bird,", ",cat,")
    assert main(args + ["--json"]) == 0
    import json

    stats = json.loads(capsys.readouterr().out)
    assert stats["train"]["boxes_per_class"] == {"cat": 1, "dog": 2} and stats["val"]["images"] == 1


def test_classes_given_fix_the_order_and_refuse_others(tmp_path):
    cfg = write_voc(tmp_path)
    cfg.classes = ["dog", "cat"]
    train, _ = load_datasets(cfg)
    assert train.category_names == ("dog", "cat")
    cfg.classes = ["dog"]
    with pytest.raises(DatasetError, match=r"a\.xml: object #1 \(cat\): unknown class 'cat' \(classes: dog\)"):
        load_datasets(cfg)


def test_data_convert_writes_coco_json_that_reads_back_the_same(tmp_path, capsys):
    cfg = write_yolo(tmp_path / "d")
    assert main(["data", "convert", str(tmp_path / "out"), "proxy=custom", "proxy.data.format=yolo", f"proxy.data.root={cfg.root}"]) == 0
    train, val = load_datasets(cfg)
    back = load_datasets(DataConfig(train_ann=str(tmp_path / "out/train.json"), train_images=cfg.root, val_ann=str(tmp_path / "out/val.json"), val_images=cfg.root))
    assert records(back[0]) == records(train) and records(back[1]) == records(val)
    assert np.isclose(sum(a["area"] for a in back[0].coco["annotations"]), 26 * 34 + 28 * 18 + 40 * 80)


def test_data_convert_never_overwrites_without_force(tmp_path, capsys):
    cfg = write_yolo(tmp_path / "d")
    out = tmp_path / "out"
    out.mkdir()
    (out / "train.json").write_text("the user's labels")
    args = ["data", "convert", str(out), "proxy=custom", "proxy.data.format=yolo", f"proxy.data.root={cfg.root}"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"spinenas data: error: {out / 'train.json'} exists; not overwritten (add --force to replace it)"
    assert (out / "train.json").read_text() == "the user's labels" and not (out / "val.json").exists()
    assert main([*args, "--force"]) == 0
    assert json.loads((out / "train.json").read_text())["images"] and f"writing into {out}" in capsys.readouterr().err


def test_data_convert_refuses_to_replace_the_datasets_own_labels_even_with_force(tmp_path, capsys):
    cfg = write_yolo(tmp_path / "d")
    out = tmp_path / "coco"
    assert main(["data", "convert", str(out), "proxy=custom", "proxy.data.format=yolo", f"proxy.data.root={cfg.root}"]) == 0
    before = (out / "train.json").read_text()
    capsys.readouterr()
    args = ["data", "convert", str(out), "proxy=custom", f"proxy.data.train_ann={out / 'train.json'}", f"proxy.data.train_images={cfg.root}",
            f"proxy.data.val_ann={out / 'val.json'}", f"proxy.data.val_images={cfg.root}", "--force"]  # fmt: skip
    assert main(args) == 2
    assert "is the dataset's own annotation file" in capsys.readouterr().err and (out / "train.json").read_text() == before


@pytest.mark.parametrize("fmt", ["voc", "yolo", "csv", "coco"])
def test_bad_boxes_are_dropped_and_counted_per_file_or_refused(tmp_path, fmt, capsys):
    """A public microscope set in VOC layout has 2 zero-width boxes among 4,888: by default they are
    dropped and counted per file; with bad_boxes=error the first one stops the run, naming it."""
    if fmt == "coco":
        cfg = write_csv(tmp_path)
        assert main(["data", "convert", str(tmp_path / "coco"), "proxy=custom", "proxy.data.format=csv", f"proxy.data.train_ann={cfg.train_ann}",
                     f"proxy.data.val_ann={cfg.val_ann}", f"proxy.data.train_images={cfg.train_images}"]) == 0  # fmt: skip
        ann = tmp_path / "coco" / "train.json"
        data = json.loads(ann.read_text())
        data["annotations"][0]["bbox"][2] = 0.0  # zero width
        ann.write_text(json.dumps(data))
        cfg = DataConfig(train_ann=str(ann), train_images=cfg.train_images, val_ann=str(tmp_path / "coco" / "val.json"), val_images=cfg.train_images)
        bad_file = str(ann)
    else:
        cfg = WRITERS[fmt](tmp_path)
        if fmt == "voc":
            _edit(tmp_path / "Annotations" / "a.xml", "<xmax>30</xmax>", "<xmax>4.5</xmax>")  # xmin 4: half a pixel wide
            bad_file = "a.xml"
        elif fmt == "yolo":
            label = sorted((tmp_path / "labels" / "train").glob("*.txt"))[0]
            parts = label.read_text().splitlines()[0].split()
            label.write_text("\n".join([" ".join([*parts[:3], "0", parts[4]]), *label.read_text().splitlines()[1:]]) + "\n")  # zero width
            bad_file = label.name
        else:
            _edit(tmp_path / "train.csv", "a.jpg,64,48,cat,4,6,30,40", "a.jpg,64,48,cat,4,6,4,40")
            bad_file = "train.csv"
    train, val = load_datasets(cfg)
    dropped = {**train.dropped_boxes, **val.dropped_boxes}
    assert sum(dropped.values()) == 1 and bad_file in next(iter(dropped)), dropped
    with pytest.raises(DatasetError, match="bad_boxes=drop drops such boxes"):
        load_datasets(dataclasses.replace(cfg, bad_boxes="error"))


def test_data_stats_reports_the_dropped_boxes(tmp_path, capsys):
    cfg = write_csv(tmp_path)
    _edit(tmp_path / "train.csv", "a.jpg,64,48,cat,4,6,30,40", "a.jpg,64,48,cat,4,6,4,40")
    args = ["data", "stats", "proxy=custom", "proxy.data.format=csv", f"proxy.data.train_ann={cfg.train_ann}", f"proxy.data.val_ann={cfg.val_ann}",
            f"proxy.data.train_images={cfg.train_images}"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "dropped (bad_boxes)" in out and f"1 empty or sub-pixel boxes dropped (proxy.data.bad_boxes=drop): {cfg.train_ann} (1)" in out


def test_a_dataset_without_boxes_and_a_yolo_folder_without_labels_are_refused(tmp_path):
    cfg = write_csv(tmp_path / "csv")
    text = (tmp_path / "csv" / "train.csv").read_text().splitlines()
    (tmp_path / "csv" / "train.csv").write_text("\n".join([text[0], *(line.replace(",cat,", ",cat,").rsplit(",", 4)[0] + ",4,6,4,9" for line in text[1:])]) + "\n")
    with pytest.raises(DatasetError, match="the training split has no boxes at all \\(3 empty or sub-pixel boxes were dropped\\)"):
        load_datasets(cfg)
    yolo = write_yolo(tmp_path / "yolo")
    (tmp_path / "yolo" / "labels").rename(tmp_path / "yolo" / "label")  # misnamed: every image would read as background
    with pytest.raises(DatasetError, match="split 'train': none of its 2 images has a label file"):
        load_datasets(yolo)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


BROKEN_IMAGES = [
    ("undecodable", lambda p: p.write_text("not an image"), r"image 1: cannot decode .*a\.jpg, not an image Pillow can decode"),
    ("truncated", _truncate, r"image 1: cannot decode .*a\.jpg, truncated"),
    ("size", lambda p: Image.new("RGB", (32, 32)).save(p, format="JPEG"), r"image 1: .*a\.jpg is 32x32, its record says 64x48"),
    ("oversized", 1000, r"image \d: .*\.jpg is oversized \(Image size \(\d+ pixels\) exceeds limit"),  # over twice Pillow's limit: its error
    ("oversized-warned", 2000, r"image \d: .*\.jpg is oversized \(Image size \(3072 pixels\) exceeds limit of 2000 pixels"),  # between 1x and 2x: Pillow only warns
]


@pytest.mark.parametrize("name,breaker,pattern", BROKEN_IMAGES, ids=[b[0] for b in BROKEN_IMAGES])
def test_broken_images_are_refused_up_front_in_one_line(tmp_path, capsys, monkeypatch, name, breaker, pattern):
    """Images are decoded once at start-up (data stats, the search's check), not minutes into a run."""
    cfg = write_csv(tmp_path)
    monkeypatch.setenv("SPINENAS_CACHE", str(tmp_path / "cache"))
    if isinstance(breaker, int):
        monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", breaker)  # a 64x48 image (3072 px) stands for a decompression bomb
    else:
        breaker(tmp_path / "images" / "a.jpg")
    args = ["data", "stats", "proxy=custom", "proxy.data.format=csv", f"proxy.data.train_ann={cfg.train_ann}", f"proxy.data.val_ann={cfg.val_ann}",
            f"proxy.data.train_images={cfg.train_images}", "proxy.data.bad_images=error"]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(cfg.train_ann) in err and re.search(pattern, err), err


def test_a_set_of_very_large_images_reads_with_max_image_pixels_and_pillows_limit_is_left_alone(tmp_path, capsys, monkeypatch):
    """An aerial tile over Pillow's decompression-bomb limit is refused naming the option; with
    proxy.data.max_image_pixels above its size the set reads, and Pillow's own limit is as it was."""
    cfg = write_csv(tmp_path)
    monkeypatch.setenv("SPINENAS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # the 64x48 images (3072 px) stand for very large ones
    args = ["data", "stats", "proxy=custom", "proxy.data.format=csv", f"proxy.data.train_ann={cfg.train_ann}", f"proxy.data.val_ann={cfg.val_ann}",
            f"proxy.data.train_images={cfg.train_images}"]  # fmt: skip
    assert main(args) == 2
    assert "proxy.data.max_image_pixels=N reads" in capsys.readouterr().err
    assert main([*args, "proxy.data.max_image_pixels=2000"]) == 2  # still under the image's 3072: refused
    capsys.readouterr()
    assert main([*args, "proxy.data.max_image_pixels=4000"]) == 0
    assert "images" in capsys.readouterr().out and Image.MAX_IMAGE_PIXELS == 1000
    assert main([*args, "proxy.data.max_image_pixels=0"]) == 2
    assert "proxy.data.max_image_pixels: a positive number of pixels" in capsys.readouterr().err


def _truncate_by_20_bytes(path: Path) -> None:
    """As one JPEG of a published one-class VOC set is: the end of its scan missing."""
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(path, quality=95)
    path.write_bytes(path.read_bytes()[:-20])


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_a_truncated_image_is_dropped_with_its_boxes_named_and_counted(tmp_path, capsys, monkeypatch, fmt):
    """By default (bad_images=drop) an image cut short is left out with its boxes, in every format,
    and named in data stats and at a search's start-up; the other images are still read."""
    monkeypatch.setenv("SPINENAS_CACHE", str(tmp_path / "cache"))
    cfg = dataclasses.replace(WRITERS[fmt](tmp_path / "d"), cache_dir=str(tmp_path / "cache"))
    bad = next((tmp_path / "d").rglob("a.jpg"))
    _truncate_by_20_bytes(bad)
    train, val = load_datasets(cfg)
    assert [r.file_name.split("/")[-1] for r in train.images] == ["b.jpg"] and len(val.images) == 1
    assert train.dropped_images == {str(bad): "truncated"} and train.num_boxes == 1  # a.jpg's two boxes went with it
    from proxy_tasks.cache import cache_key

    whole = dataclasses.replace(train, fingerprint=train.fingerprint.split("|without")[0], dropped_images={})  # the set as read, before the drop
    assert cache_key(train, 128) != cache_key(whole, 128)  # the kept images' cache is not the whole set's (a cache has one image per record)
    from nas.evaluators.training import TrainingEvaluator, TrainingOptions

    capsys.readouterr()
    TrainingEvaluator(TrainingOptions(data=cfg)).check()  # what search, train and proxy-design print at start-up
    err = capsys.readouterr().err
    assert f"data: 1 undecodable or truncated images dropped with their boxes (proxy.data.bad_images=drop): {bad} (truncated)" in err
    with pytest.raises(DatasetError, match=r"image 1: cannot decode .*a\.jpg, truncated .*bad_images=drop drops such images"):
        load_datasets(dataclasses.replace(cfg, bad_images="error"))


def test_data_stats_names_a_dropped_image_and_refuses_a_set_of_only_broken_ones(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SPINENAS_CACHE", str(tmp_path / "cache"))
    cfg = write_csv(tmp_path)
    _truncate_by_20_bytes(tmp_path / "images" / "a.jpg")
    args = ["data", "stats", "proxy=custom", "proxy.data.format=csv", f"proxy.data.train_ann={cfg.train_ann}", f"proxy.data.val_ann={cfg.val_ann}",
            f"proxy.data.train_images={cfg.train_images}"]  # fmt: skip
    assert main(args) == 0
    out = capsys.readouterr().out
    assert re.search(r"dropped \(bad_images\)\s+1\s+0", out) and "a.jpg (truncated)" in out, out
    (tmp_path / "images" / "b.jpg").write_text("not an image")
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "none of its 2 images can be decoded" in err, err


def test_voc_folders_with_other_names_are_taken_by_option_and_named_when_missing(tmp_path):
    cfg = write_voc(tmp_path)
    (tmp_path / "Annotations").rename(tmp_path / "annots")
    (tmp_path / "JPEGImages").rename(tmp_path / "pics")
    with pytest.raises(DatasetError, match=r"no annotation folder .*it holds ImageSets/, annots/, pics/\): name yours with proxy.data.annotations_dir=FOLDER"):
        load_datasets(cfg)
    train, val = load_datasets(dataclasses.replace(cfg, annotations_dir="annots", images_dir=str(tmp_path / "pics")))  # relative or absolute
    assert [r.file_name for r in train.images] == ["a.jpg", "b.jpg"] and train.image_dir == tmp_path / "pics" and val.num_boxes == 1
    with pytest.raises(DatasetError, match="proxy.data.images_dir is not a folder"):
        load_datasets(dataclasses.replace(cfg, annotations_dir="annots", images_dir="JPEGImages"))
    with pytest.raises(Exception, match="format=csv does not read it"):
        load_datasets(dataclasses.replace(write_csv(tmp_path / "csv"), annotations_dir="annots"))


def test_images_are_decoded_once_per_dataset(tmp_path):
    from proxy_tasks.cache import scan_images

    cfg = write_csv(tmp_path)
    train, _ = load_datasets(dataclasses.replace(cfg, cache_dir=str(tmp_path / "other-cache")))
    assert scan_images(train, tmp_path / "c") == (2, {}) and scan_images(train, tmp_path / "c") == (0, {})  # remembered
    Image.new("RGB", (64, 48), (1, 2, 3)).save(tmp_path / "images" / "a.jpg")  # changed on disk: checked again
    assert scan_images(train, tmp_path / "c") == (1, {})


def test_relative_data_paths_are_made_absolute_for_the_trial_workers(tmp_path, monkeypatch):
    """Ray runs each trial in a folder of its own: `proxy.data.root=../data/voc` must name the same
    files there (a BCCD proxy-design given a relative root failed all 42 runs of its first rung)."""
    from nas.settings.search import load_settings

    write_voc(tmp_path / "data" / "voc")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    data = load_settings(["proxy=custom", "proxy.data.format=voc", "proxy.data.root=../data/voc", "proxy.data.train_split=lists/a.txt"]).proxy.data
    assert Path(data.root).is_absolute() and Path(data.root).resolve() == (tmp_path / "data" / "voc").resolve()
    assert data.train_split == str(tmp_path / "work" / "lists" / "a.txt") and data.val_split == "val"  # a file is a path, a name stays a name
    monkeypatch.chdir(tmp_path)  # where a worker runs
    train, _ = load_datasets(dataclasses.replace(data, train_split="train"))
    assert len(train.images) == 2
