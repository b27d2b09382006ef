"""`spinenas screen`: scores and the predictor's estimate per architecture; bad input is one line, exit 2."""

import json

import numpy as np
import pytest

from nas.commands.cli import main
from nas.screening.predictor import Predictor
from search_space.space import get_space

TINY = "proxy=synthetic_tiny"


@pytest.fixture(scope="module")
def predictor_file(tmp_path_factory):
    space = get_space("r0_sp53", block_adjustments=True)
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(20)]
    return Predictor(space, "gbr").fit(archs, [sum(b.level for b in a.blocks) for a in archs]).save(tmp_path_factory.mktemp("p") / "p.npz")


def test_screen_prints_scores_and_predictions(tmp_path, capsys, predictor_file):
    spec = tmp_path / "s.yaml"
    get_space("r0_sp53", block_adjustments=True).sample(5).save(spec)
    assert main(["screen", "spinenet49", "resnet50_fpn", str(spec), TINY, "--scores", "synflow,params", "--predictor", str(predictor_file), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["arch"] for r in rows] == ["spinenet49", "resnet50_fpn", str(spec)]
    assert all(set(r["scores"]) == {"synflow", "params"} for r in rows)
    assert rows[0]["predicted"] is not None and rows[0]["spread"] >= 0  # SpineNet-49 is in R0-SP53
    assert rows[1]["predicted"] is None and "outside the predictor's space" in rows[1]["why"]  # an FPN is in no space
    assert rows[2]["predicted"] is not None
    assert main(["screen", "spinenet49", TINY, "--scores", "params", "--predictor", str(predictor_file)]) == 0
    text = capsys.readouterr().out
    assert "predicted AP" in text and "ms per architecture: params" in text


@pytest.mark.parametrize(
    "argv, message",
    [
        (["screen", "missing.yaml", TINY], "missing.yaml: spec file not found"),
        (["screen", "spinenet49", TINY, "--scores", "nope"], "unknown score nope"),
        (["screen", TINY], "name at least one architecture"),
        (["screen", "spinenet49", "proxy=surrogate"], "no data to score"),
        (["screen", "spinenet49", TINY, "--predictor", "nothing.npz"], "nothing.npz: no such predictor file"),
        (["screen", "spinenet49", "proxy.nope=1"], "nope"),
    ],
)
def test_screen_refuses_bad_input_in_one_line(argv, message, tmp_path, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err and err.startswith("spinenas screen: error:")


def test_a_broken_spec_names_the_file(tmp_path, capsys):
    bad = tmp_path / "broken.yaml"
    bad.write_text("blocks: [\n")
    assert main(["screen", str(bad), TINY]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and len(err.strip().splitlines()) == 1
