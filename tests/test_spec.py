import json
import os

import pytest
import yaml

from search_space import Architecture, BlockSpec, SpecError, get_architecture, load_architecture
from search_space.spec import StemGroup, from_dict

S49 = get_architecture("spinenet49")


@pytest.mark.parametrize("suffix", [".yaml", ".yml", ".json"])
def test_round_trip(tmp_path, suffix):
    path = S49.save(tmp_path / f"arch{suffix}")
    back = load_architecture(path)
    assert back == S49 and back.name == "spinenet49" and back.id == S49.id
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_yaml_is_plain_safe_yaml(tmp_path):
    data = yaml.safe_load(S49.save(tmp_path / "a.yaml").read_text())
    assert data["blocks"][0] == {"level": 2, "block_fn": "bottleneck", "parents": [0, 1], "is_output": False}
    assert len(data["blocks"]) == 15 and data["format"] == 1


def test_id_is_stable_and_ignores_name():
    # A hard-coded value: the id must not change between runs, machines or Python versions.
    assert S49.id == "d64fe906618b"
    assert S49.with_name("other").id == S49.id
    assert get_architecture("spinenet96").id == S49.id
    changed = Architecture("x", S49.blocks[:-1] + (BlockSpec(6, "residual", (12, 14), True),))
    assert changed.id != S49.id


def test_compact_official_tuple_form():
    rows = [[b.level, b.block_fn, list(b.parents), b.is_output] for b in S49.blocks]
    back = from_dict({"name": "t", "blocks": rows})
    assert back.blocks == S49.blocks and back.id == S49.id


def _blocks(**change):
    blocks = list(S49.blocks)
    for idx, kw in change.items():
        i = int(idx[1:])
        d = dict(level=blocks[i].level, block_fn=blocks[i].block_fn, parents=blocks[i].parents, is_output=blocks[i].is_output)
        d.update(kw)
        blocks[i] = BlockSpec(**d)
    return tuple(blocks)


@pytest.mark.parametrize(
    "blocks, message",
    [
        (_blocks(b3=dict(parents=(2, 5))), "block 3: parent 5 is not an earlier node"),
        (_blocks(b0=dict(parents=(0, 2))), "block 0: parent 2 is not an earlier node"),
        (_blocks(b3=dict(parents=(-1, 2))), "block 3: parent -1 is not an earlier node"),
        (_blocks(b2=dict(level=8)), "block 2: level 8 outside 2..7"),
        (_blocks(b2=dict(level=1)), "block 2: level 1 outside 2..7"),
        (_blocks(b1=dict(block_fn="dense")), "block 1: unknown block type 'dense'"),
        (_blocks(b4=dict(parents=(3, 5, 1))), "block 4: needs exactly two parents"),
        (_blocks(b4=dict(parents=(3, 3))), "block 4: the two parents must differ"),
        (_blocks(b11=dict(level=4)), "block 11: second output at level 4"),
        (_blocks(b14=dict(is_output=False)), "no output at [6]"),
        (_blocks(b0=dict(is_output=True)), "block 0: output block at level 2"),
        (_blocks(b2=dict(level="3")), "block 2: level must be an integer"),
        ((), "needs at least 5 scale-permuted blocks"),
    ],
)
def test_validation_names_block_and_rule(blocks, message):
    with pytest.raises(SpecError, match=None) as info:
        Architecture("bad", blocks)
    assert message in str(info.value)


def test_stem_rules():
    with pytest.raises(SpecError, match="stem group 0: the stem starts at level 2"):
        Architecture("s", S49.blocks, (StemGroup(3), StemGroup(3)))
    with pytest.raises(SpecError, match="stem group 1: stem levels rise by 0 or 1"):
        Architecture("s", S49.blocks, (StemGroup(2), StemGroup(4)))
    with pytest.raises(SpecError, match="repeats must be >= 1"):
        Architecture("s", S49.blocks, (StemGroup(2), StemGroup(2, repeats=0)))


def test_fpn_rules():
    with pytest.raises(SpecError, match="fpn architecture has no scale-permuted blocks"):
        Architecture("f", S49.blocks, get_architecture("resnet50_fpn").stem, decoder="fpn")
    with pytest.raises(SpecError, match="unknown decoder"):
        Architecture("f", S49.blocks, decoder="bifpn")


def test_file_errors_name_the_file(tmp_path):
    missing = tmp_path / "nope.yaml"
    with pytest.raises(SpecError, match="nope.yaml: spec file not found"):
        load_architecture(missing)
    bad = tmp_path / "bad.yaml"
    bad.write_text("blocks: [1\n")
    with pytest.raises(SpecError, match=r"bad.yaml: not valid YAML at line 2"):
        load_architecture(bad)
    bad.write_text("name: x\nblocks: [[2, bottleneck, [0, 9], false]]\n")
    with pytest.raises(SpecError, match=r"bad.yaml: architecture 'x', block 0: parent 9"):
        load_architecture(bad)
    bad.write_text("name: x\nlayers: []\n")
    with pytest.raises(SpecError, match=r"unknown key\(s\) \['layers'\]"):
        load_architecture(bad)
    js = tmp_path / "bad.json"
    js.write_text("{")
    with pytest.raises(SpecError, match="bad.json: not valid JSON at line 1"):
        load_architecture(js)
    with pytest.raises(SpecError, match="unknown spec format '.txt'"):
        S49.save(tmp_path / "a.txt")


def test_yaml_tags_are_not_executed(tmp_path):
    evil = tmp_path / "evil.yaml"
    evil.write_text("!!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_architecture(evil)


def test_save_keeps_old_file_when_interrupted(tmp_path, monkeypatch):
    path = S49.save(tmp_path / "a.json")
    before = path.read_text()

    def boom(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        S49.with_name("other").save(path)
    assert path.read_text() == before and json.loads(before)["name"] == "spinenet49"
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
