import json

import numpy as np
import pytest

from proxy_tasks.evaluate import coco_metrics, to_coco_results
from proxy_tasks.synthetic import SYNTHETIC_PRESETS, ensure_synthetic


@pytest.fixture(scope="module")
def gt():
    return json.loads(ensure_synthetic(SYNTHETIC_PRESETS["tiny"]).val_ann.read_text())


def perfect(gt):
    return [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"], "score": 0.9} for a in gt["annotations"]]


@pytest.mark.parametrize("backend", ["pycocotools", "faster_coco_eval"])
def test_perfect_detector_scores_one(gt, backend):
    m = coco_metrics(gt, perfect(gt), backend)
    assert m["AP"] == pytest.approx(1.0) and m["AP50"] == pytest.approx(1.0) and m["AP75"] == pytest.approx(1.0)


def test_wrong_class_and_empty_score_zero(gt):
    cats = sorted(c["id"] for c in gt["categories"])
    other = {c: cats[(i + 1) % len(cats)] for i, c in enumerate(cats)}
    wrong = [dict(d, category_id=other[d["category_id"]]) for d in perfect(gt)]
    # Not exactly 0: a few objects of different classes overlap by IoU >= 0.5 in these scenes.
    assert coco_metrics(gt, wrong)["AP"] < 1e-3
    assert coco_metrics(gt, [])["AP"] == 0.0


def test_backends_give_identical_numbers(gt):
    rng = np.random.default_rng(0)
    noisy = [dict(d, bbox=[v + rng.normal(0, 3) for v in d["bbox"]], score=float(rng.random())) for d in perfect(gt)]
    noisy += [dict(d, category_id=1, score=0.3 * float(rng.random())) for d in perfect(gt)[::3]]
    a, b = coco_metrics(gt, noisy, "pycocotools"), coco_metrics(gt, noisy, "faster_coco_eval")
    assert 0.1 < a["AP"] < 0.95
    assert a == b


def test_results_map_back_to_original_pixels():
    out = to_coco_results(7, np.array([[10.0, 20, 30, 60]]), np.array([0.5]), np.array([1]), 2.0, [4, 9])
    assert out == [{"image_id": 7, "category_id": 9, "bbox": [5.0, 10.0, 10.0, 20.0], "score": 0.5}]


def test_unknown_backend(gt):
    with pytest.raises(ValueError, match="unknown evaluation backend 'coco'"):
        coco_metrics(gt, perfect(gt), "coco")
