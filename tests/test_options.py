"""Command options declared once (nas.settings.options, nas.settings.commands): the parser generated
from the dataclasses, read back into them, recorded and compared on resume."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from nas.commands.cli import COMMANDS, DATA_COMMANDS, parse
from nas.settings.commands import DesignOptions, FidelityOptions, FinalizeOptions, LatencyRequest, TableOptions
from nas.settings.options import add_options, declared, fixed_keys, from_args, recorded
from nas.settings.search import check_resumable
from proxy_tasks.pixels import PIXEL_LAYOUT
from search_space.errors import ConfigError

REQUIRED = {"show": ["spinenet49"], "proxy-design": ["--budget-s", "60"], "finalize": ["runs/x"], "export": ["--format", "onnx"],
            "report": ["runs/x"], "split": ["a.json"], "convert": ["out"]}  # fmt: skip


def _parse(command: str, args: list[str]) -> argparse.Namespace:
    prefix = ["data"] if command in ("stats", "convert") else []
    return parse([*prefix, command, *args])


@pytest.mark.parametrize("command", [c for c in (*map(COMMANDS.get, COMMANDS), *DATA_COMMANDS) if c.options is not None and c.run.__module__.startswith("nas.")], ids=lambda c: c.name)
def test_the_parser_defaults_are_the_dataclass_defaults(command):
    """Nothing else declares a default: parsing only what is required gives the dataclass's own."""
    args = _parse(command.name, REQUIRED.get(command.name, []))
    got = from_args(command.options, args)
    for f, _, _ in declared(command.options):
        if f.default is not dataclasses.MISSING and not (command.name in REQUIRED and f.name in ("arch", "run_dir", "ann", "out_dir", "fmt", "budget_s")):
            assert getattr(got, f.name) == f.default, (command.name, f.name)


def test_flags_types_and_help_come_from_the_field():
    args = _parse("table", ["--archs", "300", "--seeds", "3", "--probe-at", "0.3,0.6", "out_dir=x"])
    assert from_args(TableOptions, args) == TableOptions(300, 3, (0.3, 0.6))
    assert args.overrides == ["out_dir=x"]
    design = from_args(DesignOptions, _parse("proxy-design", ["--budget-s", "240", "--reference", "image_size=256,epochs=40", "--reference-from", "d"]))
    assert design == DesignOptions(240.0, reference=("image_size=256", "epochs=40"), reference_from="d")
    narrow = from_args(DesignOptions, _parse("proxy-design", ["--budget-s", "240", "--sizes", "128", "--lrs", "0.001"]))
    assert (narrow.sizes, narrow.lrs) == ((128,), (0.001,)) and isinstance(narrow.sizes[0], int)  # an image size is whole, a float would reach the proxy
    with pytest.raises(SystemExit):
        _parse("proxy-design", ["--budget-s", "240", "--sizes", "128.5"])
    final = from_args(FinalizeOptions, _parse("finalize", ["runs/s", "--top", "1", "--scale", "spinenet96", "proxy.epochs=4"]))
    assert (final.run_dir, final.top, final.scale) == ("runs/s", 1, ("spinenet96",))
    assert _parse("finalize", ["runs/s", "--top", "1", "proxy.epochs=4"]).overrides == ["proxy.epochs=4"]
    latency = from_args(LatencyRequest, _parse("latency", ["spinenet49", "resnet50_fpn", "--with-head", "--threads", "2"]))
    assert latency.specs == ("spinenet49", "resnet50_fpn") and latency.with_head and latency.threads == 2
    parser = argparse.ArgumentParser()
    add_options(parser, FidelityOptions)
    text = parser.format_help()
    assert "--reference-epochs" in text and "(default 12)" in text and "(default 3)" in text  # the default shown is the field's
    with pytest.raises(SystemExit):
        _parse("proxy-design", [])  # a field without a default is required
    with pytest.raises(SystemExit):
        _parse("export", ["spinenet49"])  # --format is required although the dataclass has a default for tests


def test_recorded_is_plain_data_and_fixed_keys_follow_the_declarations():
    assert recorded(TableOptions(300, 2, (0.25, 0.5))) == {"archs": 300, "seeds": 2, "probe_at": [0.25, 0.5]}
    assert "compare_to" not in recorded(FidelityOptions(compare_to=Path("x")))  # record=False
    assert fixed_keys(TableOptions, "table") == ("table.probe_at",)  # archs and seeds may grow on resume
    assert fixed_keys(FinalizeOptions, "finalize") == ("finalize.top", "finalize.seeds", "finalize.baselines", "finalize.select_seeds")
    assert "design.budget_s" in fixed_keys(DesignOptions, "design")


def _saved(tmp_path: Path, table: dict) -> Path:
    (tmp_path / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create({"pixels": PIXEL_LAYOUT, "proxy": {"name": "surrogate"}, "table": table})))
    return tmp_path


def test_a_resume_compares_each_fixed_option_and_lets_a_free_one_change(tmp_path):
    out = _saved(tmp_path, {"archs": 150, "seeds": 2, "probe_at": [0.25, 0.5]})
    fixed = fixed_keys(TableOptions, "table")
    grown = OmegaConf.create({"table": recorded(TableOptions(300, 3, (0.25, 0.5)))})
    check_resumable(out, grown, fixed)  # more rows and seeds: allowed
    moved = OmegaConf.create({"table": recorded(TableOptions(150, 2, (0.5,)))})
    with pytest.raises(ConfigError, match=r"'table.probe_at' differs .*run: \[0.25, 0.5\], now: \[0.5\]"):
        check_resumable(out, moved, fixed)


def test_a_saved_run_without_the_section_is_not_refused(tmp_path):
    (tmp_path / "config.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create({"pixels": PIXEL_LAYOUT, "proxy": {"name": "surrogate"}})))
    check_resumable(tmp_path, OmegaConf.create({"table": recorded(TableOptions())}), fixed_keys(TableOptions, "table"))


def test_an_option_can_be_given_as_its_config_key():
    """`table.archs=300` is `--archs 300` (config.yaml records the options under `table`); the
    other overrides stay Hydra's; a wrong name, a wrong value or a contradiction is refused."""
    args = _parse("table", ["table.archs=300", "table.probe_at=0.5", "seed=1", "--seeds", "3"])
    assert from_args(TableOptions, args) == TableOptions(300, 3, (0.5,)) and args.overrides == ["seed=1"]
    final = _parse("finalize", ["runs/s", "finalize.top=1", "finalize.baselines=spinenet49", "proxy.epochs=4"])
    assert (final.top, final.baselines, final.overrides) == (1, ("spinenet49",), ["proxy.epochs=4"])
    assert _parse("proxy-design", ["design.budget_s=240"]).budget_s == 240.0
    for bad, message in (("table.probe=1", "table has no option 'probe' (its options: archs, seeds, probe_at)"),
                         ("table.archs=x", "table.archs: expected an integer, got 'x'")):  # fmt: skip
        with pytest.raises(SystemExit):
            _parse("table", [bad])
    with pytest.raises(SystemExit):
        _parse("table", ["--archs", "5", "table.archs=3"])


@pytest.mark.parametrize("command,csv", [("table", "runs.csv"), ("fidelity", "fidelity.csv"), ("proxy-design", "runs.csv")])
def test_a_folder_that_holds_a_run_is_refused_before_any_data_is_read(command, csv, tmp_path, capsys):
    """The cheap refusal comes first: a folder holding another run is named, though the data the
    overrides point at is broken (reading it first would name the data instead)."""
    from nas.commands.cli import main

    out = tmp_path / "run"
    out.mkdir()
    (out / csv).write_text("")
    (tmp_path / "data").mkdir()  # a YOLO folder without data.yaml
    extra = ["--budget-s", "60"] if command == "proxy-design" else []
    code = main([command, *extra, "proxy=custom", "proxy.data.format=yolo", f"proxy.data.root={tmp_path / 'data'}", f"out_dir={out}"])
    err = capsys.readouterr().err
    assert code == 2 and f"{out} already holds" in err and "data.yaml" not in err, err


def test_every_spinenas_line_of_the_readme_and_docs_still_parses(capsys):
    """The generated parser takes every command line the README and docs show (parsing only: the
    flags, positionals and key=value spellings, not the runs)."""
    import re
    import shlex

    root = Path(__file__).resolve().parents[1]
    lines = []
    for page in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        for block in re.findall(r"```(?:bash|sh)?\n(.*?)```", page.read_text(), re.S):
            for line in block.replace("\\\n", " ").splitlines():
                line = re.sub(r"\s+#.*$", "", line).strip()
                if line.startswith("spinenas "):
                    lines.append((page.name, line))
    assert len(lines) >= 40
    for page, line in lines:
        try:
            parse(shlex.split(line)[1:])
        except SystemExit:
            pytest.fail(f"{page}: {line}: {capsys.readouterr().err.strip().splitlines()[-1]}")


def test_finalize_options_refuse_an_unknown_scale_preset_before_any_run():
    """The checks moved with the options: `--scale` names catalog presets (a lost check once let a
    typo through to the end of a finalize)."""
    FinalizeOptions(scale=("spinenet96",)).check()
    with pytest.raises(ConfigError, match="--scale: unknown preset 'spinenet97'; valid: "):
        FinalizeOptions(scale=("spinenet97",)).check()
