"""The typed config: one schema per group, registered in Hydra's ConfigStore, and the composition
of `conf/` against them.

Every group's YAML file starts from its schema (`defaults: [base_<group>, _self_]`) and holds only
its choices and overrides, so a wrong key or type is refused while composing, naming the key.
`???` marks a value the user must give: schemas whose choices need one (data paths, a FLOPs target)
are registered as instances with that field missing, since OmegaConf keeps a default when `???`
is merged onto it.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

from nas.early_stop import SchedulerConfig
from nas.reward import RewardConfig
from nas.searchers import SEARCHER_KINDS
from proxy_tasks.surrogate import SurrogateConfig
from proxy_tasks.task import DataConfig, ProxyConfig
from search_space.catalog import resolve_architecture
from search_space.errors import ConfigError, SpineNASError
from search_space.space import SearchSpace, get_space

CONF_DIR = Path(__file__).resolve().parents[1] / "conf"


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


@dataclass
class SpaceConfig:
    """`space`: a search space by name, whether block adjustments are searched, and how many of
    the last built blocks an intermediate block may take parents from (None: all)."""

    name: str = MISSING
    block_adjustments: bool = False
    parent_window: Optional[int] = 5


@dataclass
class RayConfig:
    """`ray`: start a local Ray (`address` None) or join a cluster, and where Ray and Tune write."""

    address: Optional[str] = None  # auto: the cluster `ray start --head` started on this machine
    num_cpus: Optional[int] = None  # local Ray only; None: every core
    num_gpus: Optional[int] = None
    temp_dir: Optional[str] = None  # Ray's session folder (default /tmp/ray)
    log_to_driver: bool = False  # trial output stays in Ray's logs; the driver prints a status line
    storage_path: Optional[str] = None  # Tune's experiment folder (default <out_dir>/tune)


@dataclass
class SearchConfig(SearchTopLevel):
    """`conf/search.yaml`: the top-level keys and one node per group (each checked by its own schema)."""

    # Each group's node is typed by the schema its choice starts from (base_space, base_reinforce,
    # base_proxy, ...); typed here, the schema's defaults would hide the `???` of a choice.
    space: Any = MISSING
    searcher: Any = MISSING
    proxy: Any = MISSING
    ray: Any = MISSING
    reward: Any = MISSING
    scheduler: Any = MISSING


@dataclass
class TrainConfig:
    """`conf/train.yaml`: one architecture trained on a proxy (or the full recipe)."""

    arch: str = "spinenet49"  # catalog name or spec file (.yaml/.json)
    preset: Optional[str] = None  # scaling preset for fields the proxy leaves None
    out_dir: Optional[str] = None
    proxy: Any = MISSING


GROUPS = ("space", "searcher", "proxy", "ray", "reward", "scheduler", "experiment")
_FILES = DataConfig(train_ann=MISSING, train_images=MISSING, val_ann=MISSING, val_images=MISSING)


def register_schemas() -> None:
    """Put every schema into Hydra's ConfigStore (idempotent: storing again replaces the node)."""
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    cs.store(name="base_search", node=SearchConfig)
    cs.store(name="base_train", node=TrainConfig)
    cs.store(group="space", name="base_space", node=SpaceConfig)
    for name in SEARCHER_KINDS:
        cs.store(group="searcher", name=f"base_{name}", node=SEARCHER_KINDS.get(name).options)
    cs.store(group="proxy", name="base_proxy", node=ProxyConfig)
    cs.store(group="proxy", name="base_proxy_files", node=ProxyConfig(data=_FILES))  # the four data paths must be set
    cs.store(group="proxy", name="base_surrogate", node=SurrogateConfig)
    cs.store(group="ray", name="base_ray", node=RayConfig)
    cs.store(group="reward", name="base_reward", node=RewardConfig)
    cs.store(group="reward", name="base_flops_budget", node=RewardConfig(target_flops=MISSING))
    cs.store(group="scheduler", name="base_scheduler", node=SchedulerConfig)


def search_top_level(cfg: DictConfig) -> SearchTopLevel:
    """The top-level keys of a composed search config, typed; a wrong type names its key."""
    node = OmegaConf.create({k: v for k, v in OmegaConf.to_container(cfg, resolve=True).items() if k not in GROUPS})
    return _structured(SearchTopLevel, node, "")


def compose(config_name: str, overrides: Sequence[str]) -> DictConfig:
    """Compose `conf/<config_name>.yaml` with Hydra command-line style `overrides`."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException

    register_schemas()
    try:
        with initialize_config_dir(version_base=None, config_dir=str(CONF_DIR), job_name="spinenas"):
            return hydra_compose(config_name=config_name, overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as e:
        cause = e.__cause__ if isinstance(e.__cause__, OmegaConfBaseException) else e  # a bad override: the schema's verdict
        raise ConfigError(_one_line(cause)) from None


def proxy_config(node: DictConfig | dict[str, Any]) -> ProxyConfig | SurrogateConfig:
    """The `proxy` group as a checked `ProxyConfig` (or `SurrogateConfig`); bad keys are named.
    A plain dict (a `spinenas train` checkpoint's record) may have the flat layout of versions
    before `model`/`optim`/`loss`/`inference` were nested."""
    node = node if isinstance(node, DictConfig) else OmegaConf.create(_nest_flat_keys(dict(node)))
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


def _nest_flat_keys(record: dict[str, Any]) -> dict[str, Any]:
    """Move top-level keys that belong to one of ProxyConfig's nested groups into it."""
    top = {f.name for f in dataclasses.fields(ProxyConfig)}
    groups = {f.name: {g.name for g in dataclasses.fields(f.default_factory)} for f in dataclasses.fields(ProxyConfig) if f.name in ("model", "optim", "loss", "inference")}
    for key in [k for k in record if k not in top]:
        group = next((g for g, names in groups.items() if key in names), None)
        if group is not None:
            record.setdefault(group, {})[key] = record.pop(key)
    return record


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


def _one_line(e: Exception, group: str = "") -> str:
    """One line for a Hydra/OmegaConf error; keys are written in full (`group.key`)."""

    def full(key: str) -> str:
        return f"{group}.{key}" if group else key

    text = " ".join(str(e).split()).split(" Config search path:")[0]
    text = re.sub(r"^In '\w+': ", "", text)
    if "Available options in '" in text:  # a wrong choice: list the choices, not the schemas they start from
        text = re.sub(r" base_\w+", "", text).replace(" Available options in '", ". Available options in '")
    typed = re.match(r"Value '(.*)' of type '\w+' could not be converted to (\w+) .*?full_key: (\S+)", text)
    if typed:
        value, kind, key = typed.groups()
        return f"{full(key)}: {value!r} is not {'an' if kind[0] in 'AEIOU' else 'a'} {kind.lower()}"
    if text.startswith("Could not override '"):
        key = text.split("'")[1]
        return f"unknown config key '{key}' (no such setting; see conf/ for the valid keys)"
    schema = getattr(e, "object_type", None)
    if isinstance(e, (ConfigAttributeError, ConfigKeyError)) and getattr(e, "full_key", None) and dataclasses.is_dataclass(schema):
        valid = ", ".join(f.name for f in dataclasses.fields(schema))
        key = full(str(e.full_key))
        moved = [  # a key that lives one level down (proxy.lr is proxy.optim.lr)
            f"{key.rpartition('.')[0]}.{f.name}.{key.rpartition('.')[2]}".lstrip(".")
            for f in dataclasses.fields(schema)
            if dataclasses.is_dataclass(f.default_factory if callable(f.default_factory) else None)
            and key.rpartition(".")[2] in {g.name for g in dataclasses.fields(f.default_factory)}
        ]
        hint = f": did you mean {moved[0]}?" if moved else ""
        return f"unknown config key '{key}'{hint} ({schema.__name__}'s keys: {valid})"
    text = text.replace("full_key: ", "key: ").split(" object_type=")[0].split(" reference_type=")[0]
    return f"{group}: {text}" if group else text


def search_space_of(cfg: DictConfig) -> SearchSpace:
    """The search space a search config (composed, or read back from a run's config.yaml) names."""
    return get_space(cfg.space.name, block_adjustments=cfg.space.block_adjustments, parent_window=cfg.space.parent_window)


def normalized(key: str, value: Any) -> Any:
    """A top-level value as plain data with its schema's defaults filled in, so that a run's saved
    config.yaml (possibly written by an earlier version, with fewer keys or the flat proxy layout)
    compares equal to the same settings composed now."""
    if not OmegaConf.is_config(value):
        return value
    node = OmegaConf.to_container(value, resolve=True)
    schemas = {"space": SpaceConfig, "ray": RayConfig, "reward": RewardConfig, "scheduler": SchedulerConfig}
    try:
        if key == "proxy":
            return dataclasses.asdict(proxy_config(node))
        if key == "searcher":
            options = SEARCHER_KINDS.get(node["name"]).options
            return OmegaConf.to_container(OmegaConf.merge(OmegaConf.structured(options), node))
        if key in schemas:
            return OmegaConf.to_container(OmegaConf.merge(OmegaConf.structured(schemas[key]), node))
    except (SpineNASError, OmegaConfBaseException, KeyError, ValueError):
        pass  # a value the current schema refuses: compared as written
    return node


def ray_config(node: DictConfig) -> RayConfig:
    """The `ray` group as a `RayConfig`."""
    return _structured(RayConfig, node, "ray")


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
        raise ConfigError(_one_line(e, group)) from None
    except ValueError as e:
        raise ConfigError(str(e)) from None
