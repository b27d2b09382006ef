"""The layers of `nas` (nas/__init__.py, docs/code.md): imports only go downward.

Reads every module's imports (top-level and inside functions) with `ast`; a module may import its
own layer and the layers below it; searchers, evaluators and rewards sit side by side and must not
import each other; `proxy_tasks` and `search_space` never import `nas`.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Top to bottom; a tuple is one level of packages that must not import each other.
LAYERS = ["commands", "runner", "reporting", "settings", ("searchers", "evaluators", "rewards", "screening"), "core"]


def level_of(package: str) -> int:
    for k, layer in enumerate(LAYERS):
        if package == layer or (isinstance(layer, tuple) and package in layer):
            return k
    raise AssertionError(f"nas.{package} is in no layer of {LAYERS}")


def imported_modules(path: Path, package: str | None = None) -> list[tuple[int, str]]:
    """(line, dotted name) of every import in a file, relative imports resolved against `package`
    (default: the file's place under ROOT). `from a import b` gives `a.b`, since `b` may be a module
    (`from nas import runner` imports nas.runner)."""
    tree = ast.parse(path.read_text())
    package = package if package is not None else ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base]) if base else ".".join(parts)
            out += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return out


def nas_modules() -> list[Path]:
    return sorted(p for p in (ROOT / "nas").rglob("*.py") if p.parent != ROOT / "nas")


def test_every_sub_package_says_what_it_owns():
    for folder in sorted(p for p in (ROOT / "nas").iterdir() if p.is_dir() and p.name != "__pycache__" and p.name != "templates"):
        level_of(folder.name)
        doc = ast.get_docstring(ast.parse((folder / "__init__.py").read_text()))
        assert doc and "import" in doc.lower(), f"nas/{folder.name}/__init__.py must say what it owns and what it may import"


def check_downward(path: Path, package: str) -> None:
    """Every `nas` import of the module at `path`, which belongs to `package` (nas.<sub>[...]), goes
    down the layers."""
    own = package.split(".")[1]
    for line, name in imported_modules(path, package):
        parts = name.split(".")
        if parts[0] != "nas" or len(parts) < 2 or parts[1] == own:
            continue
        assert level_of(parts[1]) > level_of(own), f"{path}:{line} imports {name}: nas.{own} may not import nas.{parts[1]}"


@pytest.mark.parametrize("path", nas_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_nas_imports_only_downward(path):
    check_downward(path, ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1]))


def test_the_packages_below_nas_never_import_it():
    for package in ("proxy_tasks", "search_space"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, name in imported_modules(path):
                assert name.split(".")[0] != "nas", f"{path.relative_to(ROOT)}:{line} imports {name}"


@pytest.mark.parametrize(
    "source",
    ["from nas.runner.campaign import run_trials\n", "from nas import runner\n", "from .. import runner\n", "from ..runner import campaign\n",
     "import nas.runner.campaign\n", "def f():\n    from nas import runner\n"],
)  # fmt: skip
def test_the_check_sees_a_wrong_import(tmp_path, source):
    """The test can fail: a searcher importing the runner is caught, however the import is written
    (the probe module is written under tmp_path, never into the source tree)."""
    bad = tmp_path / "_probe_bad_import.py"
    bad.write_text(source)
    with pytest.raises(AssertionError, match="nas.searchers may not import nas.runner"):
        check_downward(bad, "nas.searchers")
    fine = tmp_path / "_probe_fine_import.py"
    fine.write_text(source.replace("runner", "core"))
    check_downward(fine, "nas.searchers")


def test_no_command_imports_another():
    """Algorithms that several commands need live in the runner (candidates, sizing), not in a
    command: only the CLI dispatcher imports the commands."""
    for path in sorted((ROOT / "nas" / "commands").glob("*.py")):
        if path.name in ("cli.py", "__init__.py"):
            continue
        for line, name in imported_modules(path):
            assert not name.startswith("nas.commands"), f"{path.relative_to(ROOT)}:{line} imports {name}"


def test_rendering_a_report_imports_neither_torch_nor_ray():
    import subprocess
    import sys

    code = "import sys, nas.reporting.report; print(sorted(m for m in ('torch', 'ray') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]", out


def test_settings_with_a_cost_reward_load_without_torch_and_open_no_image(tmp_path):
    """Settings are read, not prepared: a reward that trades AP against FLOPs on the user's own data
    is checked from what the evaluator kind declares, so loading imports no torch and opens no
    image (the data folder here does not even exist: reading it is `prepare`'s work)."""
    import subprocess
    import sys

    code = (
        "import sys, PIL.Image\n"
        "def refuse(*a, **k): raise AssertionError('an image was opened')\n"
        "PIL.Image.open = refuse\n"
        "from nas.settings.search import load_settings\n"
        f"load_settings(['proxy=custom', 'proxy.data.format=voc', 'proxy.data.root={tmp_path / 'nowhere'}', 'reward=flops_budget', 'reward.target_flops=2e8'])\n"
        "print(sorted(m for m in ('torch', 'ray') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def module_graph(roots: tuple[str, ...] = ("nas", "search_space", "proxy_tasks")) -> dict[str, set[str]]:
    """Module -> the modules of `roots` it imports (at the top or inside a function); `from a import
    b` counts as importing module `a.b` where that is a module, else `a` (a package's __init__)."""
    files = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p for r in roots for p in (ROOT / r).rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets = set()
        for _line, name in imported_modules(path, package):
            while name and name not in files:
                name = name.rpartition(".")[0]
            if name and name != module:
                targets.add(name)
        graph[module] = targets
    return graph


def import_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of modules importing each other (graphlib names one), or None."""
    import graphlib

    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as e:
        return list(e.args[1])
    return None


def test_modules_import_each_other_one_way_only():
    """Calls go one way: no two modules of ours import each other, directly or round a longer cycle,
    even inside a function (a deferred import hides a two-way dependency, it does not remove it).
    A registry calling back the factory a module registered is the one way back, by design."""
    assert import_cycle(module_graph()) is None, f"modules import each other: {' -> '.join(import_cycle(module_graph()) or [])}"
    graph = module_graph()
    graph["nas.settings.messages"].add("nas.settings.schemas")  # the deferred import this test first caught (2026-12-07)
    assert set(import_cycle(graph) or []) == {"nas.settings.messages", "nas.settings.schemas"}


MAX_FUNCTION_LINES, MAX_MODULE_LINES = 60, 450  # issue 45: what a maintainer can read in one sitting


def long_parts(path: Path) -> list[str]:
    """The functions of a file longer than MAX_FUNCTION_LINES (signature and docstring included), and
    the file itself if it is longer than MAX_MODULE_LINES."""
    text = path.read_text()
    out = [f"{path.name}: {len(text.splitlines())} lines"] if len(text.splitlines()) > MAX_MODULE_LINES else []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES:
            out.append(f"{path.name}:{node.lineno} {node.name}: {node.end_lineno - node.lineno + 1} lines")
    return out


def test_no_function_over_60_lines_and_no_module_over_450(tmp_path):
    found = [p for pkg in ("nas", "search_space", "proxy_tasks") for path in sorted((ROOT / pkg).rglob("*.py")) for p in long_parts(path)]
    assert not found, found
    # the check sees both: a 61-line function in a 451-line module
    wide = tmp_path / "wide.py"
    wide.write_text("def f():\n" + "    x = 1\n" * 59 + "    return x\n" + "\n" * 390)
    assert long_parts(wide) == ["wide.py: 451 lines", "wide.py:1 f: 61 lines"]
