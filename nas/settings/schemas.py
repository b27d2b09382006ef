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
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from nas.core.schedule import SchedulerConfig
from nas.evaluators import EVALUATORS, TrainingOptions
from nas.evaluators.joined import joined_groups
from nas.evaluators.latency import LatencyOptions
from nas.rewards import RewardConfig
from nas.screening.options import NoScreenOptions, ScreenOptions, current_screen_layout
from nas.settings.kinds import KIND_GROUPS, KIND_KEY
from nas.settings.messages import field_names, one_line, unknown_key
from proxy_tasks.config import DataConfig, ProxyConfig
from search_space.errors import ConfigError, SpineNASError, UnknownNameError
from search_space.space import SearchSpace, get_space

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"


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

    trials: int = 4  # the main job within ~10 min on a slow 2-core laptop, install included (README)
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
    # base_training, ...): for searcher, proxy and reward that schema depends on the choice, and a
    # schema typed here would hide the `???` of a choice. `SearchSettings` holds them typed.
    space: Any = MISSING
    searcher: Any = MISSING
    proxy: Any = MISSING
    ray: Any = MISSING
    reward: Any = MISSING
    scheduler: Any = MISSING
    latency: Any = MISSING
    screen: Any = MISSING


@dataclass
class TrainConfig:
    """`conf/train.yaml`: one architecture trained on a proxy (or the full recipe)."""

    arch: str = "spinenet49"  # catalog name or spec file (.yaml/.json)
    preset: Optional[str] = None  # scaling preset for fields the proxy leaves None
    out_dir: Optional[str] = None
    proxy: Any = MISSING


BUILT_IN_GROUPS = ("space", "searcher", "proxy", "ray", "reward", "scheduler", "screen", "experiment")


def groups() -> tuple[str, ...]:
    """Every config group: the built-in ones and each registered joined kind's (a plugin's too, since
    the registry is read when asked, not when this module was imported)."""
    return (*BUILT_IN_GROUPS, *(g for g in joined_groups() if g not in BUILT_IN_GROUPS))


def fixed_schemas() -> dict[str, type]:
    """The groups with one schema each; a joined kind's group is typed by its options."""
    return {"space": SpaceConfig, "ray": RayConfig, "scheduler": SchedulerConfig, **joined_groups()}


def plugin_groups() -> set[str]:
    """The joined kinds' groups that `SearchConfig` lacks (a plugin's: no `conf/` file chooses them)."""
    return {g for g in joined_groups() if g not in field_names(SearchConfig)}


def search_schema() -> type:
    """`SearchConfig`, with a node for each joined kind's group it lacks (a plugin's: no `conf/`
    file chooses it), typed by the kind's options and holding their defaults, so that
    `energy.mj_per_64_filters=2` is checked like any other key."""
    plugins = plugin_groups()
    extra = [(g, schema, field(default_factory=schema)) for g, schema in joined_groups().items() if g in plugins]
    return dataclasses.make_dataclass("SearchConfig", extra, bases=(SearchConfig,)) if extra else SearchConfig


# Nodes that must name a value the kind's defaults leave open (`???`), under their own schema names.
REQUIRED_VALUES: dict[str, dict[str, Any]] = {
    "proxy": {"base_training_files": TrainingOptions(data=DataConfig(train_ann=MISSING, train_images=MISSING, val_ann=MISSING, val_images=MISSING))},
    "reward": {"base_flops_budget": RewardConfig(target_flops=MISSING)},
}


def group_schema(group: str, node: Any) -> type:
    """The schema of a `group` node: the group's own, or that of the kind the node names."""
    fixed = fixed_schemas()
    if group in fixed:
        return fixed[group]
    try:
        return KIND_GROUPS[group].get(_kind_of(group, node)).options
    except UnknownNameError as e:
        hint = " (it chooses the kind; a run's own name is proxy.label)" if group == "proxy" else ""
        raise ConfigError(f"{group}.{KIND_KEY}: {e}{hint}") from None


# What a node that names no kind was (a legacy reader: run folders written before the registries
# had no reward `name`, the metric with its cost term, and proxies that were trainings).
KIND_WHEN_UNNAMED = {"reward": "mnas", "proxy": "training", "searcher": "reinforce", "screen": "none"}


def _kind_of(group: str, node: Any) -> str:
    """The kind a group's node names (`KIND_WHEN_UNNAMED` where it names none)."""
    kind = node.get(KIND_KEY) if node is not None else None
    return KIND_WHEN_UNNAMED[group] if kind is None else str(kind)


def current_proxy_layout(node: dict[str, Any]) -> dict[str, Any]:
    """A `proxy` node in this version's layout: the kind under `name` (as in every group), the
    choice's label under `label`. Legacy readers, for run folders and proxy files written before
    2026-12-07: those name the kind `evaluator` and keep the label in `name`; those from before the
    evaluator registry have only the label in `name` (`surrogate`, which is also a kind, or any
    other: the node then names no kind, which `KIND_WHEN_UNNAMED` reads, or a proxy file's
    defaults list gives)."""
    if "evaluator" in node:
        node = {k: v for k, v in node.items() if k not in ("evaluator", KIND_KEY)} | {KIND_KEY: node["evaluator"], "label": node.get(KIND_KEY, node["evaluator"])}
    elif "label" not in node and KIND_KEY in node and node[KIND_KEY] not in EVALUATORS:
        node = {k: v for k, v in node.items() if k != KIND_KEY} | {"label": node[KIND_KEY]}
    return node


def register_schemas() -> None:
    """Put every schema into Hydra's ConfigStore (idempotent: storing again replaces the node)."""
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    cs.store(name="base_search", node=search_schema())
    cs.store(name="base_train", node=TrainConfig)
    for group, schema in fixed_schemas().items():
        cs.store(group=group, name=f"base_{group}", node=schema)
    for group, registry in KIND_GROUPS.items():
        for name in registry:
            cs.store(group=group, name=f"base_{name}", node=registry.get(name).options)
    for group, nodes in REQUIRED_VALUES.items():
        for name, node in nodes.items():
            cs.store(group=group, name=name, node=node)


def plain(node: Any, resolve: bool = True) -> dict[str, Any]:
    """A config mapping as plain Python data (`resolve`: interpolations filled in); a node that is
    not a mapping (a YAML list or scalar where a section belongs) is refused in words."""
    data = OmegaConf.to_container(node, resolve=resolve) if OmegaConf.is_config(node) else node
    if not isinstance(data, dict):
        raise ConfigError(f"expected a mapping of keys to values, got {type(data).__name__}: {str(data)[:80]!r}")
    return {str(k): v for k, v in data.items()}


def load_mapping(path: Path) -> DictConfig:
    """A YAML file (a run's config.yaml) as a DictConfig, with the safe loader underneath; a file
    that is not a mapping is refused naming it."""
    node = OmegaConf.load(path)
    if not isinstance(node, DictConfig):
        raise ConfigError(f"{path}: not a run's config (a YAML mapping of keys to values)")
    return node


def search_top_level(cfg: DictConfig) -> SearchTopLevel:
    """The top-level keys of a composed search config, typed; a wrong type names its key."""
    node = OmegaConf.create({k: v for k, v in plain(cfg).items() if k not in groups()})
    return _structured(SearchTopLevel, node, "")


def compose(config_name: str, overrides: Sequence[str]) -> DictConfig:
    """Compose `conf/<config_name>.yaml` with Hydra command-line style `overrides`."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException

    register_schemas()
    with tempfile.TemporaryDirectory(prefix="spinenas-conf-") as extra:
        overrides = group_files_as_options(overrides, Path(extra))
        try:
            with initialize_config_dir(version_base=None, config_dir=str(CONF_DIR), job_name="spinenas"):
                return hydra_compose(config_name=config_name, overrides=list(overrides))
        except (HydraException, OmegaConfBaseException) as e:
            cause = e.__cause__ if isinstance(e.__cause__, OmegaConfBaseException) else e  # a bad override: the schema's verdict
            raise ConfigError(one_line(cause)) from None
        except (TypeError, ValueError) as e:  # Hydra's defaults list given a value it cannot take (`proxy=[1,2]`)
            listed = [o.split("=")[0] for o in overrides if o.split("=")[0] in groups() and "[" in o.partition("=")[2]]
            raise ConfigError(f"{', '.join(listed) or 'overrides'}: a group takes one choice (a name from conf/ or, for proxy, a .yaml file); Hydra could not compose {' '.join(overrides)} ({e})") from None


FILE_GROUPS = ("proxy",)  # groups that take a YAML file as their choice (`proxy=results/.../proxy.yaml`)


def group_files_as_options(overrides: Sequence[str], folder: Path) -> list[str]:
    """`proxy=path/to/file.yaml` becomes a choice of the group: the file is copied into
    `folder/proxy/` and `folder` joins Hydra's search path, so the file is read exactly as the
    files of conf/proxy/ are (defaults list, schema checks). A missing file is refused by name."""
    out, used = [], False
    for item in overrides:
        key, sep, value = item.partition("=")
        if sep and key in FILE_GROUPS and value.endswith((".yaml", ".yml")):
            path = Path(value)
            if not path.is_file():
                raise ConfigError(f"{key}={value}: no such file (a {key} choice ending in .yaml is read as a file)")
            (folder / key).mkdir(parents=True, exist_ok=True)
            _copy_group_file(path, folder / key / f"_file_{path.stem}.yaml")
            item, used = f"{key}=_file_{path.stem}", True
        out.append(item)
    return [f"hydra.searchpath=[file://{folder}]", *out] if used else out


def _copy_group_file(path: Path, to: Path) -> None:
    """Copy a group's YAML file, a proxy file written by an earlier version in today's layout."""
    try:
        node = OmegaConf.load(path)
    except Exception as e:  # noqa: BLE001 - a broken file is the user's, whatever the parser says
        raise ConfigError(f"{path}: cannot read ({' '.join(str(e).split())[:200]})") from None
    if not isinstance(node, DictConfig):
        raise ConfigError(f"{path}: a {to.parent.name} file holds keys and values (like conf/{to.parent.name}/*.yaml), not a list")
    data = plain(node, resolve=False)
    current = current_proxy_layout(data)
    if current is data:
        shutil.copyfile(path, to)
    else:
        OmegaConf.save(OmegaConf.create(current), to)


def proxy_config(node: DictConfig | dict[str, Any]) -> Any:
    """The `proxy` group as its evaluator's checked options (`TrainingOptions`, `SurrogateOptions`,
    ...); bad keys are named. A plain dict (a `spinenas train` checkpoint's record) may have the flat
    layout of versions before `model`/`optim`/`loss`/`inference` were nested; any node may have the
    kind and label of versions before they were `name` and `label` (`current_proxy_layout`)."""
    if not isinstance(node, (DictConfig, dict)):
        raise ConfigError(f"proxy: expected keys and values, got {type(node).__name__}")
    data = plain(node, resolve=False) if isinstance(node, DictConfig) else _nest_flat_keys(dict(node))
    current = current_proxy_layout(data)
    typed = typed_group("proxy", node if isinstance(node, DictConfig) and current is data else OmegaConf.create(current))
    if isinstance(getattr(typed, "data", None), DataConfig):  # trial workers run in folders of their own
        typed.data = typed.data.with_absolute_paths()
    return typed


def typed_group(group: str, node: DictConfig) -> Any:
    """A group's node as its schema's dataclass, checked by the schema's `validate()` where it has
    one; a wrong key, type or value raises `ConfigError` naming it."""
    kind = f"{group} {_kind_of(group, node)}" if group in KIND_GROUPS else None
    schema = group_schema(group, node)
    unknown = sorted(str(k) for k in set(node.keys()) - {f.name for f in dataclasses.fields(schema)})
    if unknown:  # a key added with `+group.key=...` is not refused by the merge below
        raise ConfigError(unknown_key(f"{group}.{unknown[0]}", schema, kind))
    cfg = _structured(schema, node, group, kind)
    validate = getattr(cfg, "validate", None)
    if validate is not None:
        try:
            validate()
        except ValueError as e:
            raise ConfigError(str(e)) from None
    return cfg


def _nest_flat_keys(record: dict[str, Any]) -> dict[str, Any]:
    """Move top-level keys that belong to one of ProxyConfig's nested groups into it."""
    top = {f.name for f in dataclasses.fields(ProxyConfig)}
    parts = {f.name: field_names(f.default_factory) for f in dataclasses.fields(ProxyConfig) if f.name in ("model", "optim", "loss", "inference")}
    for key in [k for k in record if k not in top]:
        group = next((g for g, names in parts.items() if key in names), None)
        if group is not None:
            record.setdefault(group, {})[key] = record.pop(key)
    return record


def _missing_keys(cfg: DictConfig, prefix: str = "") -> list[str]:
    out = []
    for key in cfg:
        path = f"{prefix}{key!s}"
        if OmegaConf.is_missing(cfg, key):
            out.append(path)
        else:
            value = cfg[key]
            if isinstance(value, DictConfig):
                out += _missing_keys(value, path + ".")
    return out


def search_space_of(cfg: DictConfig) -> SearchSpace:
    """The search space a search config (composed, or read back from a run's config.yaml) names."""
    return get_space(cfg.space.name, block_adjustments=cfg.space.block_adjustments, parent_window=cfg.space.parent_window)


def normalized(key: str, value: Any) -> Any:
    """A top-level value as plain data with its schema's defaults filled in, so that a run's saved
    config.yaml (possibly written by an earlier version, with fewer keys or the flat proxy layout)
    compares equal to the same settings composed now."""
    if not isinstance(value, DictConfig):
        return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value  # a list: as written
    node = plain(value)
    try:
        if key == "proxy":
            return dataclasses.asdict(proxy_config(node))
        if key == "screen":
            node = current_screen_layout(node)
            value = OmegaConf.create(node)
        if key in fixed_schemas() or key in KIND_GROUPS:
            return OmegaConf.to_container(OmegaConf.merge(OmegaConf.structured(group_schema(key, node)), node))
    except (SpineNASError, OmegaConfBaseException, KeyError, ValueError):
        pass  # a value the current schema refuses: compared as written
    return node


def ray_config(node: DictConfig) -> RayConfig:
    """The `ray` group as a `RayConfig`."""
    return _structured(RayConfig, node, "ray")


def reward_config(node: DictConfig) -> Any:
    """The `reward` group as its kind's checked options."""
    return typed_group("reward", node)


def optional_group(group: str, schema: type, node: DictConfig | None) -> Any:
    """A group with one schema as its checked options; a config without the group (a run saved
    before it, a joined kind's group not in conf/) gets the schema's defaults."""
    return schema() if node is None else typed_group(group, node)


def latency_config(node: DictConfig | None) -> LatencyOptions:
    """The `latency` group as checked `LatencyOptions` (a run saved before the group: the defaults)."""
    return optional_group("latency", LatencyOptions, node)


def screen_config(node: DictConfig | None) -> ScreenOptions:
    """The `screen` group as its kind's checked options (a run saved before the group: no screen;
    one saved before the kinds: read by `current_screen_layout`)."""
    if node is None:
        return NoScreenOptions()
    return typed_group("screen", OmegaConf.create(current_screen_layout(plain(node))))


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


def _structured(cls: type, node: DictConfig, group: str, kind: str | None = None) -> Any:
    _reject_missing(node, group)
    try:
        fresh = OmegaConf.create(plain(node, resolve=False))  # a node composed under another kind's schema fits this one
        return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(cls), fresh))  # nested dataclasses too
    except OmegaConfBaseException as e:
        raise ConfigError(one_line(e, group, cls, kind)) from None
    except ValueError as e:
        raise ConfigError(str(e)) from None
