"""A search's settings, typed once and checked before Ray starts; the resume check against a run."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from proxy_tasks.pixels import PIXEL_LAYOUT
from omegaconf import DictConfig, OmegaConf

from nas.core.schedule import SchedulerConfig, rung_epochs
from nas.evaluators import Evaluator, build_evaluator, evaluator_kind
from nas.evaluators.joined import JOINED, JoinedEvaluator, JoinedKind, joined_groups, provider_of
from nas.evaluators.latency import LatencyOptions
from nas.core.objectives import costs, front_pair, unseen_by_scalar
from nas.rewards import REWARDS, objectives_of
from nas.searchers import SEARCHER_KINDS
from nas.screening.options import NoScreenOptions, ScreenOptions
from nas.settings.messages import field_names
from nas.settings.schemas import RayConfig, SearchTopLevel, compose, groups, latency_config, load_mapping, normalized, optional_group, plain, plugin_groups, proxy_config, ray_config, reward_config, scheduler_config, screen_config, search_space_of, search_top_level, typed_group
from search_space.errors import ConfigError
from search_space.space import SearchSpace

# Settings that must not change between a run and its resume (and every joined kind's group: `resume_fixed`).
RESUME_FIXED = ("space", "searcher", "proxy", "reward", "scheduler", "latency", "screen", "seed", "preset", "dedup", "failure_reward")


def resume_fixed() -> tuple[str, ...]:
    """`RESUME_FIXED` with the config group of every registered joined kind (a plugin's too)."""
    return tuple(dict.fromkeys((*RESUME_FIXED, *joined_groups())))


@dataclass(frozen=True)
class SearchSettings:
    """A composed and checked search config, every group as its schema's object; frozen once
    typed (`cfg` is kept to be written as config.yaml and compared on resume, not read)."""

    cfg: DictConfig
    top: SearchTopLevel  # the typed top-level keys (trials, trial.*, ...)
    space: SearchSpace
    searcher: Any  # the searcher kind's options (ControllerOptions, EvolutionOptions, ...)
    proxy: Any  # the evaluator's options (TrainingOptions, SurrogateOptions, ...)
    evaluator: Evaluator  # built from `proxy` on the driver: checks, costs, references, timings
    reward: Any  # the reward kind's options
    scheduler: SchedulerConfig
    ray: RayConfig
    joined: tuple[JoinedEvaluator, ...] = ()  # evaluators whose metrics join the proxy's in every trial (latency, when the reward's costs need it)
    screen: ScreenOptions = field(default_factory=NoScreenOptions)  # between the searcher and the runner (`screen=`)
    latency_options: LatencyOptions = field(default_factory=LatencyOptions)  # the `latency` group, typed (used or not)

    @property
    def epochs(self) -> int | None:
        """Epochs a trial trains, that a scheduler may stop between (None: not a training)."""
        return self.evaluator.epochs

    @property
    def threads(self) -> int:
        """Torch threads of a trial: its whole CPUs."""
        return max(1, int(math.floor(self.top.trial.cpus)))

    def record(self, **sections: Any) -> DictConfig:
        """What a run's config.yaml records: the resolved config, plus a command's own `sections`
        (its options: fidelity's seeds, finalize's candidates), which a resume must match too. A
        plugin's joined group (no `conf/` file chooses it) is recorded only when the reward selects
        its kind: a run that never measured energy does not need the energy plugin to be read back."""
        out = OmegaConf.create(plain(self.cfg))
        used = {k.group for k in joined_kinds(self.reward, self.proxy)}
        for group in plugin_groups() - used:
            out.pop(group, None)
        out["pixels"] = PIXEL_LAYOUT  # how images were padded: runs padded otherwise are not mixed on resume
        for key, value in sections.items():
            out[key] = value
        return out

    @property
    def metrics(self) -> tuple[str, ...]:
        """What the trials measure, as the kinds declare it: the evaluator's metrics, then the
        reward's objectives (trials.csv has a column for each)."""
        return tuple(dict.fromkeys([*evaluator_kind(self.proxy).metrics, *(o.metric for o in objectives_of(self.reward))]))

    @property
    def front(self) -> tuple[str, str] | None:
        """(metric, cost) when the search's answer is a front (ASHA keeps each rung's front too)."""
        return front_pair(objectives_of(self.reward)) if REWARDS.get(self.reward.name).front else None

    @property
    def eval_at(self) -> list[int]:
        """Epochs after which a trial is evaluated for the scheduler (none without ASHA)."""
        return rung_epochs(self.scheduler, self.epochs or 0)


def load_settings(overrides: Sequence[str]) -> SearchSettings:
    """Compose `conf/search.yaml` with `overrides` and type and check it: keys, types and values of
    every group and the kinds against each other (the scheduler against the evaluator, the searcher
    against the reward's objectives, the screen against the proxy). Passive: it reads no data file
    and times nothing; `nas.runner.prepare.prepare` checks the evaluator's inputs (a dataset's every
    file; a surrogate's target) and reads or calibrates the latency table."""
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
        cfg = load_mapping(path)
    except ConfigError:
        raise
    except Exception as e:  # noqa: BLE001 - a broken file is the user's, whatever the parser says
        raise ConfigError(f"{path}: cannot read ({' '.join(str(e).split())[:200]})") from None
    for item in overrides:
        key, eq, _value = item.partition("=")
        if not eq or key.lstrip("+") in groups():
            raise ConfigError(f"override {item!r}: give key=value of the run's settings (proxy.epochs=4); a group is changed by its keys, not replaced")
    cfg.out_dir, cfg.resume = None, False  # the run's own folder and resume flag are not the new command's
    cfg.pop("pixels", None)  # a record of how the run's images were padded (`SearchSettings.record`), not a setting
    foreign = [str(k) for k, v in cfg.items() if isinstance(v, DictConfig) and str(k) not in groups() and str(k) not in field_names(SearchTopLevel)]
    if foreign:  # a joined kind's group recorded while a plugin was loaded
        raise ConfigError(f"{path}: group {foreign[0]!r} belongs to no kind loaded here; load the plugin the run was made with (SPINENAS_PLUGINS=...)")
    try:
        merged = OmegaConf.merge(cfg, OmegaConf.from_dotlist([o.lstrip("+") for o in overrides]))
    except Exception as e:  # noqa: BLE001
        raise ConfigError(f"overrides {' '.join(overrides)}: {' '.join(str(e).split())[:200]}") from None
    assert isinstance(merged, DictConfig)  # a mapping merged into a mapping
    return settings_of(merged)


def settings_of(cfg: DictConfig) -> SearchSettings:
    """A composed (or read back) search config as typed, checked settings."""
    top, space, searcher, evaluator, scheduler, reward, latency_options = _typed(cfg)
    screen = screen_config(cfg.get("screen"))
    _check_screen(screen, evaluator.options)
    joined = _joined(cfg, reward, evaluator, top.preset, space)  # a latency table is read (or calibrated) by `prepare`
    evaluator.fit_to_trial(top.trial.gpus)
    return SearchSettings(cfg, top, space, searcher, evaluator.options, evaluator, reward, scheduler, ray_config(cfg.ray), joined, screen, latency_options)


def settings_from(given: SearchSettings | Sequence[str]) -> SearchSettings:
    """`given` when it is settings already (the command line loads them once, before torch and Ray
    import, so a config mistake is refused in a fraction of a second), else the settings that the
    `key=value` overrides `given` compose to: either way the config is composed once."""
    return given if isinstance(given, SearchSettings) else load_settings(given)


def list_override(key: str, values: Sequence[float]) -> str:
    """`key=[v1,v2]`: a list-valued override, numbers written short (`proxy.probe_at=[0.25,0.5]`)."""
    return f"{key}=[{','.join(f'{v:g}' for v in values)}]"


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
    """A searcher that learns from two objectives needs a reward that declares them (the metric and
    a cost); a cost the scalar reward does not carry needs such a searcher, or one that does not
    learn from rewards at all (the baseline), or else the search would ignore it."""
    kind, objectives = SEARCHER_KINDS.get(searcher.name), objectives_of(reward)
    pair = front_pair(objectives)
    if kind.front is not None and kind.front(searcher) != pair:
        metric, cost = kind.front(searcher)
        declared = ", ".join(f"{o.metric} ({o.goal})" for o in objectives)
        raise ConfigError(
            f"searcher={searcher.name} trades {metric} against {cost}, and reward={reward.name} declares {declared}; "
            "use it with a reward that declares both (reward=pareto or reward=latency_budget), or set searcher.metric and searcher.cost to the reward's"
        )
    unseen = unseen_by_scalar(objectives)
    if unseen and kind.front is None and kind.learns:
        fronts = [n for n in SEARCHER_KINDS.names() if SEARCHER_KINDS.get(n).front is not None]
        blind = [n for n in SEARCHER_KINDS.names() if not SEARCHER_KINDS.get(n).learns]
        raise ConfigError(
            f"reward={reward.name}: searcher={searcher.name} would learn from {objectives[0].metric} alone, not from {', '.join(unseen)}; "
            f"use {' or '.join(f'searcher={n}' for n in fronts)} (learns from both), {' or '.join(f'searcher={n}' for n in blind)} (the baseline), "
            "or put the cost in the scalar reward (for reward=pareto: reward.weight=-0.07 reward.ref_ms=...)"
        )


def _check_screen(screen: ScreenOptions, proxy: Any) -> None:
    """A screen that scores untrained detectors needs a proxy that trains one on data, and a score
    that exists."""
    if not screen.needs_data:
        return
    if not evaluator_kind(proxy).trains:
        raise ConfigError(f"screen={screen.name} scores untrained detectors on the proxy's data, and proxy={proxy.name} has none; use screen=predictor (it learns from the rewards alone) or screen=none")
    from proxy_tasks.zero_cost import ZERO_COST

    score = getattr(screen, "score", None)  # a kind that scores on data names its score
    if score not in ZERO_COST:
        raise ConfigError(f"screen.score: unknown {score!r}; valid: {', '.join(ZERO_COST)}")


def joined_kinds(reward: Any, proxy: Any) -> list[JoinedKind]:
    """The joined kinds (`nas.evaluators.joined`) that measure the reward's costs the proxy's kind
    does not declare among its metrics; a cost that neither measures is refused (it would fail
    every trial), from declarations alone."""
    objectives = objectives_of(reward)
    declared = evaluator_kind(proxy).metrics
    names: list[str] = []
    for key in costs(objectives):
        if key in declared:
            continue
        name = provider_of(key)
        if name is None:
            raise ConfigError(f"the reward trades {objectives[0].metric} against {key}, and proxy={proxy.label} measures no {key}; use a training proxy or reward=ap")
        if name not in names:
            names.append(name)
    return [JOINED.get(n) for n in names]


def _joined(cfg: DictConfig, reward: Any, evaluator: Evaluator, preset: str, space: SearchSpace) -> tuple[JoinedEvaluator, ...]:
    """The joined evaluators for the reward's costs, each built from its own config group."""
    return tuple(k.build(optional_group(k.group, k.options, cfg.get(k.group)), preset, space) for k in joined_kinds(reward, evaluator.options))


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


_ABSENT = object()


def check_resumable(out: Path, cfg: DictConfig, fixed: Sequence[str]) -> None:
    """Refuse to resume the run in `out` when any of the `fixed` settings differ from `cfg`."""
    saved_path = out / "config.yaml"
    if not saved_path.exists():
        raise ConfigError(f"{out}: nothing to resume (no config.yaml); start it without resume=true")
    saved = load_mapping(saved_path)
    if saved.get("pixels", "pad-black") != PIXEL_LAYOUT and _trains_on_images(saved):
        if "pixels" in saved:
            why = f"the runs in {out} were trained on images padded {str(saved['pixels'])[4:]}"
        else:  # no line: black-padded (before 2026-12-07), or a search folder written that day before searches recorded it
            why = (f"{saved_path} does not say how its images were padded: its runs were padded black (before 2026-12-07), unless it is a "
                   "search started on 2026-12-07 before searches wrote the line (then add 'pixels: pad-mean' to it and resume)")  # fmt: skip
        raise ConfigError(
            f"resume: {why}; this version pads with the mean colour (proxy_tasks/pixels.py), and a run folder mixing the two compares "
            "unlike runs: start a new out_dir"
        )
    unused = plugin_groups() - set(cfg)  # a plugin's group the reward does not select
    for key in fixed:  # a top-level key or a dotted one (`table.probe_at`: one declared option of a command)
        if key in unused:  # recorded before 2026-12-07 whether used or not (`SearchSettings.record`): nothing to compare
            continue
        was = OmegaConf.select(saved, key, default=_ABSENT)
        before, now = normalized(key, was), normalized(key, OmegaConf.select(cfg, key, default=None))
        if was is not _ABSENT and before != now:
            where, was, is_ = _first_difference(key, before, now)
            raise ConfigError(f"resume: '{where}' differs from the run in {out} (run: {was!r}, now: {is_!r}); resume with the same settings")


def _trains_on_images(saved: DictConfig) -> bool:
    """Whether a saved run's proxy trained detectors on images: its kind read as every layout since
    the first stores it (`current_proxy_layout`; no kind named: a training), looked up in the
    evaluator registry (`trains`); a kind this version does not know is taken to train."""
    from nas.evaluators import EVALUATORS
    from nas.settings.schemas import _kind_of, current_proxy_layout

    node = plain(saved.get("proxy") or {}, resolve=False)
    kind = _kind_of("proxy", current_proxy_layout(node))
    return bool(EVALUATORS.get(kind).trains) if kind in EVALUATORS else True  # a kind not installed here: taken to train (the safe side)


def _first_difference(key: str, a: Any, b: Any) -> tuple[str, Any, Any]:
    """The first key path under `key` where nested dicts `a` and `b` differ, with both values; a
    differing kind (`name`: another searcher or proxy) comes first, since it explains the rest."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=lambda k: (k != "name", str(k))):
            if a.get(k) != b.get(k):
                return _first_difference(f"{key}.{k}", a.get(k), b.get(k))
    return key, a, b
