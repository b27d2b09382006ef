"""The user's own kinds, without editing SpineNAS: modules that register label formats, evaluators,
rewards, searchers or zero-cost scores when imported (docs/code.md, "Plugins").

Two ways to name them, both read by the CLI before it composes a config:
- `SPINENAS_PLUGINS`: comma-separated module names (importable: `my_lab.formats`) or paths of
  `.py` files (`~/nas/my_formats.py`; the file's folder is put on `sys.path`);
- the entry-point group `spinenas.plugins` of an installed package (its pyproject:
  `[project.entry-points."spinenas.plugins"] formats = "my_lab.formats"`), loaded always.

A Ray that a campaign starts or joins gets the loaded list in its job's environment and
`setup_worker` as every worker's start-up hook (`nas.runner.ray_session`), so each worker imports
them before it unpickles a trial: a format or kind a worker does not know would otherwise fail
there, trial after trial. A plugin that is missing or raises while imported is refused in one line
naming it.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from search_space.errors import ConfigError

ENV = "SPINENAS_PLUGINS"
GROUP = "spinenas.plugins"
_LOADED: list[str] = []  # what this process imported, in order: module names and resolved .py paths


def named_plugins() -> list[str]:
    """The plugins `SPINENAS_PLUGINS` names, then the `spinenas.plugins` entry points' modules."""
    return _env_plugins() + [ep.value.split(":")[0] for ep in importlib.metadata.entry_points(group=GROUP)]


def load_plugins(plugins: Sequence[str] | None = None) -> None:
    """Import each plugin once (default: `named_plugins()`); `loaded_plugins()` lists them after."""
    for name in named_plugins() if plugins is None else plugins:
        key = _import(name)
        if key not in _LOADED:
            _LOADED.append(key)


def loaded_plugins() -> list[str]:
    """The plugins this process has loaded (what a Ray worker must load too)."""
    return list(_LOADED)


def plugin_runtime_env() -> dict[str, Any]:
    """Ray's runtime environment for a job whose workers must import this process's plugins: the
    list in `SPINENAS_PLUGINS` and `setup_worker` as every worker's start-up hook (it runs before the
    worker unpickles a trial's options, whose class may be a plugin's)."""
    return {"env_vars": {ENV: ",".join(_LOADED)}, "worker_process_setup_hook": "nas.core.plugins.setup_worker"}


def setup_worker() -> None:
    """A Ray worker's start-up hook: import the plugins its job's `SPINENAS_PLUGINS` names."""
    load_plugins(_env_plugins())


def _env_plugins() -> list[str]:
    """The comma-separated entries of `SPINENAS_PLUGINS`."""
    return [p.strip() for p in os.environ.get(ENV, "").split(",") if p.strip()]


def _import(name: str) -> str:
    """Import one plugin: a module name or a .py file; returns the name it is known by."""
    module = name
    if name.endswith(".py"):
        path = Path(name).expanduser().resolve()
        if not path.is_file():
            raise ConfigError(f"{ENV}: plugin file {name} does not exist")
        folder, module = str(path.parent), path.stem
        if folder not in sys.path:
            sys.path.insert(0, folder)
        name = str(path)
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name == module or module.startswith(f"{e.name}."):
            raise ConfigError(f"{ENV}: plugin {name!r} is not an importable module (not installed, or not on PYTHONPATH)") from None
        raise ConfigError(f"plugin {name}: raised ModuleNotFoundError while imported: {e}") from None
    except Exception as e:  # noqa: BLE001 - the user's module: one line naming it, not our traceback
        raise ConfigError(f"plugin {name}: raised {type(e).__name__} while imported: {e}") from None
    return name


__all__ = ["ENV", "GROUP", "load_plugins", "loaded_plugins", "named_plugins", "plugin_runtime_env", "setup_worker"]
