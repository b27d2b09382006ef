"""A search's settings, typed once and checked before Ray starts; the resume check against a run."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from omegaconf import DictConfig, OmegaConf

from nas.core.schedule import SchedulerConfig, rung_epochs
from nas.evaluators import Evaluator, build_evaluator
from nas.evaluators.latency import LatencyEvaluator, LatencyOptions
from nas.rewards import REWARDS
from nas.rewards.latency import LATENCY
from nas.screening.options import ScreenConfig
from nas.settings.schemas import GROUPS, RayConfig, SearchTopLevel, compose, latency_config, normalized, proxy_config, ray_config, reward_config, scheduler_config, screen_config, search_space_of, search_top_level, typed_group
from search_space.catalog import get_preset
from search_space.errors import ConfigError
from search_space.space import SearchSpace

# Settings that must not change between a run and its resume.
RESUME_FIXED = ("space", "searcher", "proxy", "reward", "scheduler", "latency", "screen", "seed", "preset", "dedup", "failure_reward")
# Searchers that learn from the metric and the latency themselves (not from the scalar reward).
MULTI_OBJECTIVE_SEARCHERS = ("pareto",)


@dataclass
class SearchSettings:
    """A composed and checked search config, every group as its schema's object."""

    cfg: DictConfig
    top: SearchTopLevel  # the typed top-level keys (trials, trial.*, ...)
    space: SearchSpace
    searcher: Any  # the searcher kind's options (ControllerOptions, EvolutionOptions, ...)
    proxy: Any  # the evaluator's options (TrainingOptions, SurrogateOptions, ...)
    evaluator: Evaluator  # built from `proxy` on the driver: checks, costs, references, timings
    reward: Any  # the reward kind's options
    scheduler: SchedulerConfig
    ray: RayConfig
    latency: LatencyEvaluator | None = None  # when the reward needs latency: adds `latency_ms` to every trial
    screen: ScreenConfig = field(default_factory=ScreenConfig)  # between the searcher and the runner (`screen=`)

    @property
    def epochs(self) -> int | None:
        """Epochs a trial trains, that a scheduler may stop between (None: not a training)."""
        return self.evaluator.epochs

    @property
    def threads(self) -> int:
        """Torch threads of a trial: its whole CPUs."""
        return max(1, int(math.floor(self.top.trial.cpus)))

    @property
    def eval_at(self) -> list[int]:
        """Epochs after which a trial is evaluated for the scheduler (none without ASHA)."""
        return rung_epochs(self.scheduler, self.epochs or 0)


def load_settings(overrides: Sequence[str]) -> SearchSettings:
    """Compose `conf/search.yaml` with `overrides` and check every part that can be checked
    before Ray starts: keys, types and values of every group, the evaluator's inputs (a dataset's
    files: the validation `spinenas train` runs; a surrogate's target) and the scheduler against it."""
    return settings_of(compose("search", overrides))


def run_settings(run_dir: Path, overrides: Sequence[str]) -> SearchSettings:
    """The settings a finished run was made with (its config.yaml), with `key=value` overrides
    applied and checked as `load_settings` checks them (`out_dir` and `resume` start unset: they
    are the new command's, not the run's). A group is changed by its keys
    (`proxy.epochs=4`), not replaced (`proxy=...`): the run's groups are resolved values, not choices."""
    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise ConfigError(f"{run_dir}: not a search folder (no config.yaml)")
    try:
        cfg = OmegaConf.load(path)
    except Exception as e:  # noqa: BLE001 - a broken file is the user's, whatever the parser says
        raise ConfigError(f"{path}: cannot read ({' '.join(str(e).split())[:200]})") from None
    for item in overrides:
        key, eq, _value = item.partition("=")
        if not eq or key.lstrip("+") in GROUPS:
            raise ConfigError(f"override {item!r}: give key=value of the run's settings (proxy.epochs=4); a group is changed by its keys, not replaced")
    cfg.out_dir, cfg.resume = None, False  # the run's own folder and resume flag are not the new command's
    try:
        cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist([o.lstrip("+") for o in overrides]))
    except Exception as e:  # noqa: BLE001
        raise ConfigError(f"overrides {' '.join(overrides)}: {' '.join(str(e).split())[:200]}") from None
    return settings_of(cfg)


def settings_of(cfg: DictConfig) -> SearchSettings:
    """A composed (or read back) search config as typed, checked settings."""
    top, space, searcher, evaluator, scheduler, reward, latency_options = _typed(cfg)
    evaluator.check()  # the slowest checks last
    _check_costs(reward, evaluator, space, top.preset, cfg.proxy.get("name"))
    latency = None
    if LATENCY in REWARDS.get(reward.name).costs(reward):
        latency = LatencyEvaluator(latency_options, top.preset, space)
        latency.check()  # reads the table, or calibrates it on this machine the first time
    evaluator.fit_to_trial(top.trial.gpus)
    screen = screen_config(cfg.get("screen"))
    return SearchSettings(cfg, top, space, searcher, evaluator.options, evaluator, reward, scheduler, ray_config(cfg.ray), latency, screen)


def check_overrides(overrides: Sequence[str]) -> None:
    """Refuse what can be refused before torch or Ray load (the command line calls this first):
    keys, types and values of every group. The evaluator's inputs are checked by `load_settings`."""
    cfg = compose("search", overrides)
    _typed(cfg)
    ray_config(cfg.ray)
    screen_config(cfg.get("screen"))


def _typed(cfg: DictConfig) -> tuple[SearchTopLevel, SearchSpace, Any, Evaluator, SchedulerConfig, Any, LatencyOptions]:
    top = search_top_level(cfg)
    _check(top)
    space = search_space_of(cfg)
    searcher = typed_group("searcher", cfg.searcher)  # a wrong option or value stops here, before Ray
    evaluator = build_evaluator(proxy_config(cfg.proxy))
    scheduler = scheduler_config(cfg.scheduler, evaluator.epochs)
    reward = reward_config(cfg.reward)
    _check_objectives(searcher, reward)
    return top, space, searcher, evaluator, scheduler, reward, latency_config(cfg.get("latency"))


def _check_objectives(searcher: Any, reward: Any) -> None:
    """A multi-objective searcher needs a reward that brings latency; the Pareto reward needs a
    searcher that learns from both objectives (or a latency term in its scalar reward)."""
    latency_aware = LATENCY in REWARDS.get(reward.name).costs(reward)
    if searcher.name in MULTI_OBJECTIVE_SEARCHERS and not latency_aware:
        raise ConfigError(f"searcher={searcher.name} trades the metric against latency; use it with reward=pareto (or reward=latency_budget)")
    if reward.name == "pareto" and searcher.name not in (*MULTI_OBJECTIVE_SEARCHERS, "random") and not getattr(reward, "weight", 0.0):
        raise ConfigError(
            f"reward=pareto: searcher={searcher.name} would learn from AP alone; use searcher=pareto (non-dominated sorting), "
            "searcher=random (the baseline), or give the scalar reward a latency term (reward.weight=-0.07 reward.ref_ms=...)"
        )


def _check_costs(reward: Any, evaluator: Evaluator, space: SearchSpace, preset: str, proxy_name: str | None) -> None:
    """Refuse a reward that needs a model cost the evaluator does not measure (it would fail every trial)."""
    for key in REWARDS.get(reward.name).costs(reward):
        if key == LATENCY:
            continue  # the search's latency settings bring it (`LatencyEvaluator`)
        if not evaluator.cost(space.coarsest(), get_preset(preset)).get(key):
            raise ConfigError(f"reward.target_{key} needs {key}, and proxy={proxy_name} measures none; use a training proxy or reward=ap")


def _check(top: SearchTopLevel) -> None:
    if top.trials < 1:
        raise ConfigError(f"trials must be >= 1, got {top.trials}")
    if top.max_concurrent < 1:
        raise ConfigError(f"max_concurrent must be >= 1, got {top.max_concurrent}")
    if top.trial.cpus <= 0 or top.trial.gpus < 0:
        raise ConfigError("trial.cpus must be > 0 and trial.gpus >= 0")
    if top.trial.max_failures < 0 or top.trial.abort_after_identical_failures < 0:
        raise ConfigError("trial.max_failures and trial.abort_after_identical_failures must be >= 0")
    if top.resume and not top.out_dir:
        raise ConfigError("resume=true needs out_dir=<the folder of the search to continue>")


def check_resumable(out: Path, cfg: DictConfig, fixed: Sequence[str]) -> None:
    """Refuse to resume the run in `out` when any of the `fixed` settings differ from `cfg`."""
    saved_path = out / "config.yaml"
    if not saved_path.exists():
        raise ConfigError(f"{out}: nothing to resume (no config.yaml); start it without resume=true")
    saved = OmegaConf.load(saved_path)
    for key in fixed:
        before, now = normalized(key, saved.get(key)), normalized(key, cfg.get(key))
        if key in saved and before != now:
            where, was, is_ = _first_difference(key, before, now)
            raise ConfigError(f"resume: '{where}' differs from the run in {out} (run: {was!r}, now: {is_!r}); resume with the same settings")


def _first_difference(key: str, a: Any, b: Any) -> tuple[str, Any, Any]:
    """The first key path under `key` where nested dicts `a` and `b` differ, with both values; a
    differing kind (`name`: another searcher or proxy) comes first, since it explains the rest."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=lambda k: (k != "name", k != "evaluator", str(k))):
            if a.get(k) != b.get(k):
                return _first_difference(f"{key}.{k}", a.get(k), b.get(k))
    return key, a, b
