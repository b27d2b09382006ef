"""Starting or joining Ray for a campaign, and checking that its trials fit the cluster."""

from __future__ import annotations

import contextlib
import os
from typing import Any, Iterator

from nas.core.plugins import loaded_plugins, plugin_runtime_env
from nas.settings.schemas import RayConfig, TrialResources
from search_space.errors import ConfigError


def connect_ray(ray_cfg: RayConfig) -> bool:
    """Start a local Ray or join `ray.address`; True when this call started or joined it."""
    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    # Trials report their loss curve (status `curve`) between rung and final results; those points
    # carry no reward on purpose (schedulers and searchers pass over them), which Tune's searcher
    # wrapper would otherwise refuse.
    os.environ["TUNE_DISABLE_STRICT_METRIC_CHECKING"] = "1"
    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": ray_cfg.log_to_driver}
    if loaded_plugins():  # every worker imports the user's plugins as it starts (nas.core.plugins)
        kwargs["runtime_env"] = plugin_runtime_env()
    if ray_cfg.address:
        try:
            ray.init(address=ray_cfg.address, **kwargs)
        except (ConnectionError, RuntimeError, SystemExit) as e:  # Ray exits after its connect retries
            hint = "" if os.environ.get("RAY_AUTH_MODE") == "token" else (
                "; a head started with `ray start --head` uses token authentication: set RAY_AUTH_MODE=token"
            )
            raise ConfigError(f"cannot join the Ray cluster at ray.address={ray_cfg.address} ({first_line(e)}){hint}") from None
    else:
        if ray_cfg.temp_dir:
            kwargs["_temp_dir"] = ray_cfg.temp_dir  # ray.init's own (underscored) argument for the session folder
        ray.init(num_cpus=ray_cfg.num_cpus, num_gpus=ray_cfg.num_gpus, **kwargs)
    return True


@contextlib.contextmanager
def ray_session(ray_cfg: RayConfig) -> Iterator[None]:
    """Ray for the block: started or joined on entry (a cluster that cannot be joined stops us
    before anything is written), shut down on exit when this block started it."""
    started = connect_ray(ray_cfg)
    try:
        yield
    finally:
        if started:
            import ray

            ray.shutdown()


def check_resources(trial: TrialResources) -> None:
    """Refuse a trial that no node of the connected Ray cluster can hold (it would wait forever)."""
    import ray

    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    for key, need in (("CPU", trial.cpus), ("GPU", trial.gpus)):
        most = max((n.get(key, 0.0) for n in nodes), default=0.0)
        if need > most + 1e-9:
            name = f"trial.{key.lower()}s"
            raise ConfigError(f"{name}={need:g}, but no node of the Ray cluster has more than {most:g} {key}s; lower {name} or add nodes")


def first_line(e: BaseException) -> str:
    """The first line of an exception's text (its type's name when it has none)."""
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
