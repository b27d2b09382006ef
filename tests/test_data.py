import copy
import json

import numpy as np
import torch
import pytest
from PIL import Image

from proxy_tasks.cache import build_cache
from proxy_tasks.data import DatasetError, load_coco, split_coco


def write_quirky_dataset(root):
    """Grey, RGBA, palette and RGB images, a sub-folder, ids 3/7/90, a crowd box, an empty image."""
    (root / "imgs" / "sub").mkdir(parents=True)
    specs = [("a.png", "L", (40, 30)), ("sub/b.png", "RGBA", (30, 40)), ("c.png", "P", (32, 32)), ("d.jpg", "RGB", (64, 48))]
    images = []
    for k, (name, mode, size) in enumerate(specs, start=1):
        im = Image.new(mode, size)
        if mode == "P":
            im.putpalette([i % 256 for i in range(768)])
        im.save(root / "imgs" / name)
        images.append({"id": 10 * k, "file_name": name, "width": size[0], "height": size[1]})
    anns = [
        {"id": 1, "image_id": 10, "category_id": 7, "bbox": [2, 3, 10, 8], "area": 80, "iscrowd": 0},
        {"id": 2, "image_id": 20, "category_id": 90, "bbox": [0, 0, 30, 40], "area": 1200, "iscrowd": 1},
        {"id": 3, "image_id": 20, "category_id": 3, "bbox": [5, 5, 10, 10], "area": 100, "iscrowd": 0},
        {"id": 4, "image_id": 40, "category_id": 90, "bbox": [60, 40, 10, 10], "area": 100},
    ]
    cats = [{"id": 90, "name": "z"}, {"id": 3, "name": "a"}, {"id": 7, "name": "m"}]
    data = {"images": images, "annotations": anns, "categories": cats}
    (root / "ann.json").write_text(json.dumps(data))
    return data


def test_quirks_load(tmp_path):
    write_quirky_dataset(tmp_path)
    ds = load_coco(tmp_path / "ann.json", tmp_path / "imgs")
    assert ds.category_ids == (3, 7, 90) and ds.category_names == ("a", "m", "z")
    by_id = {r.id: r for r in ds.images}
    assert by_id[10].labels.tolist() == [1]  # category 7 -> label 1
    assert by_id[20].labels.tolist() == [0]  # crowd box dropped from training targets
    assert len(by_id[30].boxes) == 0  # image without annotations is kept
    np.testing.assert_allclose(by_id[40].boxes, [[60, 40, 64, 48]])  # clipped to the image
    cache = build_cache(ds, 128, tmp_path / "cache")
    assert cache.images.shape == (4, 128, 128, 3) and cache.images.dtype == np.uint8
    np.testing.assert_allclose(cache.scales, [128 / 40, 128 / 40, 128 / 32, 128 / 64])
    again = build_cache(ds, 128, tmp_path / "cache")  # second use reads the cache
    assert np.array_equal(np.asarray(again.images), np.asarray(cache.images))


def test_resize_keeps_aspect_and_pads(tmp_path):
    (tmp_path / "i").mkdir()
    Image.new("RGB", (64, 32), (255, 255, 255)).save(tmp_path / "i" / "w.png")
    data = {"images": [{"id": 1, "file_name": "w.png", "width": 64, "height": 32}], "annotations": [], "categories": [{"id": 1}]}
    (tmp_path / "a.json").write_text(json.dumps(data))
    cache = build_cache(load_coco(tmp_path / "a.json", tmp_path / "i"), 128, tmp_path / "c")
    img = np.asarray(cache.images[0])
    assert img[:64].min() == 255  # 128 x 64 content, padded below with the mean colour: 0 once normalised
    assert (img[64:] == (124, 116, 104)).all()
    from proxy_tasks.loader import normalize

    assert normalize(torch.from_numpy(np.array(img[64:])).permute(2, 0, 1)[None]).abs().max() < 0.01


def broken(tmp_path, mutate):
    data = write_quirky_dataset(tmp_path)
    data = copy.deepcopy(data)
    mutate(data)
    (tmp_path / "ann.json").write_text(json.dumps(data))
    return tmp_path / "ann.json"


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d.pop("annotations"), "missing or non-list key 'annotations'"),
        (lambda d: d["annotations"][0].pop("bbox"), "annotation 1: missing key 'bbox'"),
        (lambda d: d["annotations"][2].update(image_id=999), "annotation 3: image_id 999 is not an image"),
        (lambda d: d["annotations"][0].update(category_id=5), "annotation 1: category_id 5 is not a category"),
        (lambda d: d["annotations"][0].update(bbox=[1, 1, 0, 5]), "annotation 1: non-positive box size 0x5"),
        (lambda d: d["annotations"][0].update(bbox=[1, 1, -3, 5]), "annotation 1: non-positive box size -3x5"),
        (lambda d: d["annotations"][0].update(bbox=[1, 1, "a", 5]), "annotation 1: bbox must be [x, y, width, height]"),
        (lambda d: d["annotations"][3].update(id=1), "annotation 1: duplicate annotation id"),
        (lambda d: d["images"][0].pop("width"), "image 10: missing key 'width'"),
        (lambda d: d["images"][1].update(id=10), "image 10: duplicate image id"),
        (lambda d: d["images"][2].update(file_name="gone.png"), "image 30: file"),
        (lambda d: d["categories"].append({"id": 3}), "duplicate category id 3"),
    ],
)
def test_broken_datasets_give_one_clear_error(tmp_path, mutate, message):
    ann = broken(tmp_path, mutate)
    with pytest.raises(DatasetError) as info:
        load_coco(ann, tmp_path / "imgs")
    assert str(ann) in str(info.value) and message in str(info.value)


def test_unreadable_image_is_reported_before_training(tmp_path):
    write_quirky_dataset(tmp_path)
    (tmp_path / "imgs" / "c.png").write_bytes(b"not an image")
    ds = load_coco(tmp_path / "ann.json", tmp_path / "imgs")
    with pytest.raises(DatasetError, match=r"ann.json: image 30: cannot decode .*c.png"):
        build_cache(ds, 128, tmp_path / "cache")
    assert not list((tmp_path / "cache" / "images").glob("*.u8"))  # nothing half-written kept


def test_wrong_size_record_is_reported(tmp_path):
    data = write_quirky_dataset(tmp_path)
    data["images"][3]["width"] = 65
    (tmp_path / "ann.json").write_text(json.dumps(data))
    with pytest.raises(DatasetError, match="image 40: .*d.jpg is 64x48, its record says 65x48"):
        build_cache(load_coco(tmp_path / "ann.json", tmp_path / "imgs"), 128, tmp_path / "cache")


def test_not_json_and_missing_files(tmp_path):
    (tmp_path / "x.json").write_text("{oops")
    (tmp_path / "imgs").mkdir()
    with pytest.raises(DatasetError, match="x.json: not valid JSON at line 1"):
        load_coco(tmp_path / "x.json", tmp_path / "imgs")
    with pytest.raises(DatasetError, match="nope.json: annotation file not found"):
        load_coco(tmp_path / "nope.json", tmp_path / "imgs")


def test_split_is_seeded_and_disjoint(tmp_path):
    data = write_quirky_dataset(tmp_path)
    rest, held = split_coco(data, 1, seed=3)
    assert len(held["images"]) == 1 and len(rest["images"]) == 3
    assert {a["image_id"] for a in held["annotations"]} <= {i["id"] for i in held["images"]}
    assert split_coco(data, 1, seed=3)[1] == held
    assert rest["categories"] == data["categories"]
    with pytest.raises(DatasetError, match="cannot hold out 4 of 4"):
        split_coco(data, 4)
