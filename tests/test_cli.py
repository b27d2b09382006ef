import json
import os
import subprocess
import sys

import pytest

from nas.commands.cli import main
from search_space import get_architecture


def test_show_table(capsys):
    assert main(["show", "spinenet49"]) == 0
    out = capsys.readouterr().out
    assert "spinenet49  (id d64fe906618b" in out and "P7" in out
    assert "params 21.83M" in out


def test_show_json_with_head(capsys):
    assert main(["show", "spinenet190", "--image-size", "1280", "--with-head", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert {"name", "id", "params", "flops", "image_size", "blocks"} <= set(rec)
    assert rec["image_size"] == 1280 and len(rec["blocks"]) == 15
    assert rec["params"] / 1e6 == pytest.approx(163.6, rel=0.01)


def test_show_spec_file_and_draw(tmp_path, capsys):
    spec = get_architecture("spinenet49").with_name("mine").save(tmp_path / "mine.yaml")
    assert main(["show", str(spec), "--json", "--draw", str(tmp_path / "mine.png")]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["name"] == "mine" and rec["id"] == "d64fe906618b"
    assert (tmp_path / "mine.png").stat().st_size > 1000


def test_num_classes_changes_the_head(capsys):
    main(["show", "spinenet49", "--with-head", "--json", "--num-classes", "1"])
    one = json.loads(capsys.readouterr().out)["params"]
    main(["show", "spinenet49", "--with-head", "--json", "--num-classes", "91"])
    many = json.loads(capsys.readouterr().out)["params"]
    assert many - one == 90 * 9 * (256 * 9 + 1)


@pytest.mark.parametrize(
    "args, message",
    [
        (["show", "spinenet50"], "'spinenet50' is neither a catalog architecture"),
        (["show", "missing.yaml"], "missing.yaml: spec file not found"),
        (["show", "spinenet49", "--image-size", "600"], "--image-size 600 must be a positive multiple of 128"),
    ],
)
def test_bad_input_is_one_line_exit_2(args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, stderr = main(args), capsys.readouterr().err  # in-process: main's code is the process's (tests/test_search.py)
    assert code == 2
    assert message in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1


def test_invalid_spec_file_names_block_and_rule(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: b\nblocks:\n  - [2, bottleneck, [0, 1], false]\n  - [9, residual, [0, 2], true]\n")
    assert main(["show", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml: architecture 'b', block 1: level 9 outside 2..7" in err


HEAVY = ("torch", "ray", "matplotlib", "pandas")


LIGHT_CASES = [
    (["--help"], 0),
    (["search", "trials=abc"], 2),
    (["search", "searcher.lr=x"], 2),
    (["fidelity", "proxy.epochs=0"], 2),
    (["search", "not_a_key=1"], 2),
    (["train", "proxy.epochz=3"], 2),
    (["train", "arch=spinenet50"], 2),
    (["show", "spinenet50"], 2),
]


def test_help_and_config_mistakes_load_neither_torch_nor_ray(tmp_path):
    """`--help` and a refused config answer without importing torch, Ray, matplotlib or pandas
    (seconds each on a slow laptop). One fresh process runs every case in turn and lists what is
    loaded after each: modules only accumulate, so the first case that loads one is named."""
    probe = (
        "import sys\nfrom nas.commands.cli import main\n"
        f"for args in {[a for a, _ in LIGHT_CASES]!r}:\n"
        "    try:\n        code = main(args)\n    except SystemExit as e:\n        code = e.code\n"
        f"    print('LOADED', args, [m for m in {HEAVY!r} if m in sys.modules], code)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, env=env)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("LOADED")]
    assert lines == [f"LOADED {args!r} [] {code}" for args, code in LIGHT_CASES], proc.stdout + proc.stderr
