"""Hydra composition of `conf/` and conversion into the components' plain config dataclasses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from nas.early_stop import SchedulerConfig
from nas.reward import RewardConfig
from proxy_tasks.surrogate import SurrogateConfig
from proxy_tasks.task import ProxyConfig
from search_space.catalog import resolve_architecture
from search_space.errors import SpineNASError
from search_space.space import SearchSpace, get_space

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


class ConfigError(SpineNASError, ValueError):
    """A wrong config key or value; the message names the key."""


@dataclass
class TrialResources:
    """`trial.*`: what one trial holds, and how failures are handled."""

    cpus: float = 1.0
    gpus: float = 0.0
    max_failures: int = 3
    abort_after_identical_failures: int = 3


@dataclass
class SearchTopLevel:
    """The top-level keys of `conf/search.yaml` (the groups have their own schemas)."""

    trials: int = 8
    max_concurrent: int = 2
    seed: int = 0
    out_dir: Optional[str] = None
    resume: bool = False
    preset: str = "spinenet49"
    failure_reward: float = 0.0
    dedup: bool = True
    progress_every_s: float = 10.0
    state_every_s: float = 0.0
    trial: TrialResources = field(default_factory=TrialResources)


GROUPS = ("space", "searcher", "proxy", "ray", "reward", "scheduler", "experiment")


def search_top_level(cfg: DictConfig) -> SearchTopLevel:
    """The top-level keys of a composed search config, typed; a wrong type names its key."""
    node = OmegaConf.create({k: v for k, v in OmegaConf.to_container(cfg, resolve=True).items() if k not in GROUPS})
    return _structured(SearchTopLevel, node, "")


def compose(config_name: str, overrides: Sequence[str]) -> DictConfig:
    """Compose `conf/<config_name>.yaml` with Hydra command-line style `overrides`."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException

    try:
        with initialize_config_dir(version_base=None, config_dir=str(CONF_DIR), job_name="spinenas"):
            return hydra_compose(config_name=config_name, overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as e:
        raise ConfigError(_one_line(e)) from None


def proxy_config(node: DictConfig | dict[str, Any]) -> ProxyConfig | SurrogateConfig:
    """The `proxy` group as a checked `ProxyConfig` (or `SurrogateConfig`); bad keys are named."""
    node = node if isinstance(node, DictConfig) else OmegaConf.create(node)
    surrogate = node.get("name") == "surrogate"
    cfg = _structured(SurrogateConfig if surrogate else ProxyConfig, node, "proxy")
    try:
        cfg.validate()
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if surrogate:
        try:
            resolve_architecture(cfg.target)  # an unknown target stops the search before it starts
        except (ValueError, KeyError, FileNotFoundError) as e:
            raise ConfigError(f"proxy.target: {_one_line(e)}") from None
    return cfg


def _missing_keys(cfg: DictConfig, prefix: str = "") -> list[str]:
    out = []
    for key in cfg:
        path = f"{prefix}{key}"
        if OmegaConf.is_missing(cfg, key):
            out.append(path)
        else:
            value = cfg[key]
            if isinstance(value, DictConfig):
                out += _missing_keys(value, path + ".")
    return out


def _one_line(e: Exception) -> str:
    text = " ".join(str(e).split())
    typed = re.match(r"Value '(.*)' of type '\w+' could not be converted to (\w+) .*?full_key: (\S+)", text)
    if typed:
        value, kind, key = typed.groups()
        return f"{key}: {value!r} is not {'an' if kind[0] in 'AEIOU' else 'a'} {kind.lower()}"
    if text.startswith("Could not override '"):
        key = text.split("'")[1]
        return f"unknown config key '{key}' (no such setting; see conf/ for the valid keys)"
    return text.replace("full_key: ", "key: ").split(" object_type=")[0].split(" reference_type=")[0]


def search_space_of(cfg: DictConfig) -> SearchSpace:
    """The search space a search config (composed, or read back from a run's config.yaml) names."""
    return get_space(cfg.space.name, block_adjustments=cfg.space.block_adjustments, parent_window=cfg.space.parent_window)


def reward_config(node: DictConfig) -> RewardConfig:
    """The `reward` group as a checked `RewardConfig`."""
    return _structured(RewardConfig, node, "reward")


def scheduler_config(node: DictConfig, epochs: int | None) -> SchedulerConfig:
    """The `scheduler` group as a `SchedulerConfig` checked against the proxy's `epochs`."""
    cfg = _structured(SchedulerConfig, node, "scheduler")
    try:
        cfg.validate(epochs)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    return cfg


def _reject_missing(node: DictConfig, group: str) -> None:
    """Merging '???' onto a schema keeps the schema's default, so missing values are found first."""
    missing = sorted(f"{group}.{k}" if group else k for k in _missing_keys(node))
    if missing:
        raise ConfigError(f"missing value for {', '.join(missing)} (set it on the command line: {missing[0]}=...)")


def _structured(cls: type, node: DictConfig, group: str) -> Any:
    _reject_missing(node, group)
    try:
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(cls), node))  # nested dataclasses too
    except OmegaConfBaseException as e:
        raise ConfigError(f"{group}: {_one_line(e)}" if group else _one_line(e)) from None
    except ValueError as e:
        raise ConfigError(str(e)) from None
