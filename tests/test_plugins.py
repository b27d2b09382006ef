"""The user's own kinds from a plugin file, through the CLI as a user runs it: `SPINENAS_PLUGINS`
names a .py file that registers a label format; `data stats` reads it, and a search's trial trains
on it on a Ray worker (which knows the format only if it imported the plugin too)."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nas.core.plugins import load_plugins
from search_space.errors import ConfigError
from tests.test_new_kinds import write_jsonl_dataset

ROOT = Path(__file__).resolve().parents[1]

PLUGIN = textwrap.dedent('''
    """A label format of one JSON line per image: the reader tests/test_new_kinds.py defines, registered
    under a name only this plugin gives it."""
    from proxy_tasks.datasets import LABEL_FORMATS, LabelFormat
    from tests.test_new_kinds import read_jsonl

    LABEL_FORMATS.register("lines", lambda: LabelFormat(("root",), read_jsonl))
''')


def spinenas(args: list[str], plugins: str | None, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SPINENAS_PLUGINS"}
    env["PYTHONPATH"] = str(ROOT)
    if plugins is not None:
        env["SPINENAS_PLUGINS"] = plugins
    return subprocess.run([sys.executable, "-m", "nas", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


def test_a_plugin_file_adds_a_label_format_to_stats_and_to_the_ray_workers(tmp_path, ray_dir):
    plugin = tmp_path / "plugins" / "my_formats.py"
    plugin.parent.mkdir()
    plugin.write_text(PLUGIN)
    write_jsonl_dataset(tmp_path / "d")
    data = ["proxy=synthetic_tiny", "proxy.data.synthetic=null", "proxy.data.format=lines", f"proxy.data.root={tmp_path / 'd'}"]

    without = spinenas(["data", "stats", *data], None, tmp_path)
    assert without.returncode == 2 and "proxy.data.format: unknown 'lines'" in without.stderr and "Traceback" not in without.stderr
    stats = spinenas(["data", "stats", *data], str(plugin), tmp_path)
    assert stats.returncode == 0, stats.stderr
    assert "1 empty or sub-pixel boxes dropped" in stats.stdout

    out = tmp_path / "run"
    search = spinenas(["search", *data, "proxy.epochs=1", "proxy.batch_size=4", "trials=1", "max_concurrent=1", f"out_dir={out}", f"ray.temp_dir={ray_dir}"],
                      str(plugin), tmp_path)  # fmt: skip
    assert search.returncode == 0, search.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["failed"] == 0 and summary["ok"] == 1, summary  # the worker read the format: it imported the plugin


def test_a_broken_plugin_is_refused_in_one_line(tmp_path):
    missing = spinenas(["data", "stats"], str(tmp_path / "nowhere.py"), tmp_path)
    assert missing.returncode == 2 and missing.stderr.strip().endswith(f"plugin file {tmp_path / 'nowhere.py'} does not exist")
    bad = tmp_path / "bad_plugin.py"
    bad.write_text("raise RuntimeError('no GPU here')\n")
    raised = spinenas(["data", "stats"], str(bad), tmp_path)
    assert raised.returncode == 2 and len(raised.stderr.strip().splitlines()) == 1
    assert "raised RuntimeError while imported: no GPU here" in raised.stderr
    with pytest.raises(ConfigError, match="'no_such_module_xyz' is not an importable module"):
        load_plugins(["no_such_module_xyz"])


COMMAND_PLUGIN = textwrap.dedent('''
    """A command of the user's: `spinenas levels ARCH` (tests/test_new_kinds.py defines it and registers
    it when imported; a plugin that imports it is how a user adds a command)."""
    import tests.test_new_kinds  # noqa: F401
''')


def test_a_plugin_file_adds_a_command_to_the_command_line(tmp_path):
    """Plugins load before the command line is read, so the plugin's command parses, runs and is in --help."""
    plugin = tmp_path / "my_command.py"
    plugin.write_text(COMMAND_PLUGIN)
    ran = spinenas(["levels", "spinenet49"], str(plugin), tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["L2:1", "L3:2", "L4:4", "L5:4", "L6:2", "L7:2"]  # SpineNet-49's scale-permuted blocks
    assert "blocks per level" in spinenas(["--help"], str(plugin), tmp_path).stdout
    absent = spinenas(["levels", "spinenet49"], None, tmp_path)  # without the plugin: no such command
    assert absent.returncode == 2 and "invalid choice: 'levels'" in absent.stderr
