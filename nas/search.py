"""`spinenas search`: the controller proposes, Ray Tune trains proxies, results are written out.

Resumable: every completion is appended to trials.csv and the searcher state saved right after,
so a driver killed at any moment (even kill -9) continues with `resume=true`: finished trials are
kept (rows the saved state has not seen yet are replayed into it), trials that were running are
started afresh, and the total is the number asked for.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from omegaconf import DictConfig, OmegaConf
from ray.tune import Callback, Stopper
from ray.tune.search import Searcher

from nas.config import ConfigError, RayConfig, SearchTopLevel, compose, normalized, proxy_config, ray_config, reward_config, scheduler_config, search_space_of, search_top_level
from nas.early_stop import SchedulerConfig, make_scheduler, parse_rungs, rung_epochs, seed_scheduler
from nas.report import LiveReport, write_report
from nas.results import RunFolder
from nas.reward import RewardConfig
from nas.searchers import ArchSearcher, make_searcher
from nas.status import TrialStatus
from nas.tensorboard import SearchScalars
from nas.train_run import default_out_dir
from proxy_tasks.surrogate import SurrogateConfig
from proxy_tasks.task import ProxyConfig, ProxyTask
from search_space.fileio import atomic_write_text
from search_space.space import SearchSpace

# Settings that must not change between a run and its resume.
RESUME_FIXED = ("space", "searcher", "proxy", "reward", "scheduler", "seed", "preset", "dedup", "failure_reward")


@dataclass
class SearchOutcome:
    """What a finished search produced."""

    out_dir: Path
    summary: dict[str, Any]


@dataclass
class SearchSettings:
    """A composed and checked search config with its components' config objects."""

    cfg: DictConfig
    top: SearchTopLevel  # the typed top-level keys (trials, trial.*, ...)
    space: SearchSpace
    searcher_options: dict[str, Any]  # the searcher group minus `name`, checked
    proxy: ProxyConfig | SurrogateConfig
    reward: RewardConfig
    scheduler: SchedulerConfig
    ray: RayConfig

    @property
    def epochs(self) -> int | None:
        """Proxy epochs per trial (None for the training-free surrogate)."""
        return getattr(self.proxy, "epochs", None)

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
    before Ray starts: keys and types, the searcher's options, the proxy (a surrogate's target, a
    dataset's files: the validation `spinenas train` runs) and the scheduler against it."""
    cfg = compose("search", overrides)
    top = search_top_level(cfg)
    _check(top)
    space = search_space_of(cfg)
    options = searcher_options(cfg, space)  # a wrong option or value stops here, before Ray
    proxy = proxy_config(cfg.proxy)
    scheduler = scheduler_config(cfg.scheduler, getattr(proxy, "epochs", None))
    reward = reward_config(cfg.reward)
    if isinstance(proxy, ProxyConfig):
        ProxyTask(proxy, log=lambda _msg: None).loaded()  # the dataset check `spinenas train` runs (last: the slowest)
        if proxy.gpu_memory_fraction is None and 0 < top.trial.gpus < 1:
            proxy.gpu_memory_fraction = top.trial.gpus  # trials sharing a GPU each keep to their share
    return SearchSettings(cfg, top, space, options, proxy, reward, scheduler, ray_config(cfg.ray))


def searcher_options(cfg: DictConfig, space: SearchSpace) -> dict[str, Any]:
    """The searcher group's options (keys and types were checked by its schema while composing);
    their values are checked by building the searcher once."""
    options = {k: v for k, v in OmegaConf.to_container(cfg.searcher, resolve=True).items() if k != "name"}
    try:
        make_searcher(cfg.searcher.name, space, options, dedup=False)
    except ConfigError:
        raise
    except ValueError as e:
        raise ConfigError(f"searcher {cfg.searcher.name}: {e}") from None
    return options


def run_search(overrides: Sequence[str]) -> SearchOutcome:
    """Compose the config, run (or resume) the search, write the results; returns the summary."""
    settings = load_settings(overrides)
    cfg, top, space = settings.cfg, settings.top, settings.space
    out = Path(top.out_dir) if top.out_dir else default_out_dir("search")
    folder = RunFolder(out)
    config_yaml = OmegaConf.to_yaml(cfg)
    if top.resume:
        check_resumable(out, cfg, RESUME_FIXED)
    elif folder.trials_csv.exists():
        raise ConfigError(f"{out} already holds a search; continue it with resume=true or choose another out_dir")
    searcher = make_searcher(
        cfg.searcher.name,
        space,
        settings.searcher_options,
        concurrency=top.max_concurrent,
        seed=top.seed,
        failure_reward=top.failure_reward,
        dedup=top.dedup,
        stopped_reward=settings.scheduler.stopped_reward,
    )
    started_ray = connect_ray(settings.ray)  # a cluster that cannot be joined stops us before anything is written
    scalars: SearchScalars | None = None
    watch = FailureWatch(top.trial.abort_after_identical_failures)
    try:
        check_resources(top)
        folder.start(resume=top.resume)
        atomic_write_text(out / "config.yaml", config_yaml)  # on resume, the same fixed settings
        if top.resume:
            _restore(searcher, folder)
        report = LiveReport(out)
        report.refresh("running", force=True)
        scalars = SearchScalars(out, updates_done=len(getattr(searcher, "history", [])))

        def on_complete(completion: Any) -> Any:
            row = folder.append(completion)
            watch.see(row)
            scalars.log(row, folder.best(), getattr(searcher, "history", []))
            report.refresh("running")
            return row

        searcher.on_complete = on_complete
        searcher.checkpoint_path = str(folder.searcher_state)
        searcher.checkpoint_every_s = top.state_every_s

        remaining = top.trials - len(folder.rows)
        progress = Progress(folder, top.trials, top.progress_every_s, tick=report.catch_up)
        fit_s = 0.0
        if remaining > 0:
            t = time.perf_counter()
            _fit(settings, searcher, remaining, folder, progress, watch)
            fit_s = time.perf_counter() - t
        searcher.save(str(folder.searcher_state))  # the final state, whatever the save interval
    except BaseException:
        if folder.trials_csv.exists():  # the page says the search stopped, not that it runs
            with contextlib.suppress(Exception):  # never hide the error that stopped the search
                write_report(out, "stopped")
        raise
    finally:
        if scalars is not None:
            scalars.close()
        if started_ray:
            import ray

            ray.shutdown()
    # This session's time in the Tune loop and around it (Ray start-up excluded).
    summary = folder.finalize(space, {"session_s": fit_s, "tune_fit_s": progress.tune_fit_s})
    if watch.tripped:
        write_report(out, "stopped")
        raise RepeatedFailureError(
            f"the last {watch.streak} trials failed with the same error, so the search stopped: {watch.error} "
            f"(results so far are in {out}; fix the cause and continue with out_dir={out} resume=true, "
            "or set trial.abort_after_identical_failures=0 to never stop)"
        )
    write_report(out, "finished")
    progress.print_line()
    return SearchOutcome(out, summary)


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
    if ray_cfg.address:
        try:
            ray.init(address=ray_cfg.address, **kwargs)
        except (ConnectionError, RuntimeError, SystemExit) as e:  # Ray exits after its connect retries
            hint = "" if os.environ.get("RAY_AUTH_MODE") == "token" else (
                "; a head started with `ray start --head` uses token authentication: set RAY_AUTH_MODE=token"
            )
            raise ConfigError(f"cannot join the Ray cluster at ray.address={ray_cfg.address} ({_first_line(e)}){hint}") from None
    else:
        if ray_cfg.temp_dir:
            kwargs["_temp_dir"] = ray_cfg.temp_dir
        ray.init(num_cpus=ray_cfg.num_cpus, num_gpus=ray_cfg.num_gpus, **kwargs)
    return True


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


def check_resources(top: SearchTopLevel) -> None:
    """Refuse a trial that no node of the connected Ray cluster can hold (it would wait forever)."""
    import ray

    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    for key, need in (("CPU", top.trial.cpus), ("GPU", top.trial.gpus)):
        most = max((n.get(key, 0.0) for n in nodes), default=0.0)
        if need > most + 1e-9:
            name = f"trial.{key.lower()}s"
            raise ConfigError(f"{name}={need:g}, but no node of the Ray cluster has more than {most:g} {key}s; lower {name} or add nodes")


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
    differing `name` (another searcher or proxy kind) comes first, since it explains the rest."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=lambda k: (k != "name", str(k))):
            if a.get(k) != b.get(k):
                return _first_difference(f"{key}.{k}", a.get(k), b.get(k))
    return key, a, b


def _restore(searcher: ArchSearcher, folder: RunFolder) -> None:
    if folder.searcher_state.exists():
        searcher.restore(str(folder.searcher_state))
    searcher.pending.clear()  # those trials died with the driver; they are proposed afresh
    seen = set(searcher.completed)
    for row in folder.rows:
        if row.trial_id not in seen:
            searcher.replay(row.trial_id, folder.proposal_of(row), row.reward, row.status, folder.result_of(row))


def _fit(settings: SearchSettings, searcher: ArchSearcher, remaining: int, folder: RunFolder, progress: "Progress", watch: "FailureWatch") -> None:
    scheduler = make_scheduler(settings.scheduler, settings.epochs or 0)
    seed_scheduler(scheduler, {r.trial_id: parse_rungs(r.values.get("rungs", "")) for r in folder.rows})
    run_trials(settings, searcher, remaining, folder.path, progress, "tune", scheduler, settings.eval_at, stopper=watch)


class RepeatedFailureError(ConfigError):
    """Trials kept failing the same way: a problem of the setup, not of one architecture."""


class FailureWatch(Stopper):
    """Stops the Tune run once `limit` completions in a row failed with the same error text.

    Failures that belong to one trial's luck or architecture (a NaN loss, CUDA out of memory, a
    lost worker or node, a trial ended early) break the streak instead of adding to it.
    """

    TRANSIENT = ("NonFiniteLossError", "OutOfMemoryError", "CUDA out of memory", "trial failed in Ray", "ended before its final result")

    def __init__(self, limit: int) -> None:
        self.limit, self.streak, self.error = limit, 0, ""

    def see(self, row: Any) -> None:
        error = str(row.values.get("error") or "") if row.status == TrialStatus.FAILED else ""
        if not error or any(t in error for t in self.TRANSIENT):
            self.streak, self.error = 0, ""
        else:
            self.streak = self.streak + 1 if error == self.error else 1
            self.error = error

    @property
    def tripped(self) -> bool:
        return self.limit > 0 and self.streak >= self.limit

    def __call__(self, trial_id: str, result: dict) -> bool:
        return False

    def stop_all(self) -> bool:
        return self.tripped


def run_trials(
    settings: SearchSettings,
    searcher: Searcher,
    num_samples: int,
    out_dir: Path,
    progress: "Progress",
    name: str,
    scheduler: Any = None,
    eval_at: Sequence[int] = (),
    stopper: Any = None,
) -> None:
    """Run `num_samples` trials of the search's trainable on Ray Tune, proposed by `searcher`.

    Trials hold `trial.cpus`/`trial.gpus`, at most `max_concurrent` at a time, on re-used actors;
    a trial lost with its worker is retried `trial.max_failures` times. `progress` learns how long
    Tune's loop ran (`tune_fit_s`).
    """
    from ray import tune

    from nas.trainable import trainable

    top = settings.top
    gpus = top.trial.gpus
    fn = tune.with_parameters(
        trainable, proxy=settings.proxy, reward=settings.reward, preset=top.preset, threads=settings.threads, gpus=gpus, eval_at=list(eval_at)
    )
    fn = tune.with_resources(fn, {"cpu": top.trial.cpus, "gpu": gpus})
    storage = settings.ray.storage_path or str(out_dir.resolve() / "tune")
    tuner = tune.Tuner(
        fn,
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            scheduler=scheduler,
            num_samples=num_samples,
            max_concurrent_trials=top.max_concurrent,
            reuse_actors=True,
            trial_dirname_creator=lambda trial: f"trial_{trial.trial_id}",
        ),
        run_config=tune.RunConfig(
            name=f"{name}-{time.strftime('%Y%m%d-%H%M%S')}",
            storage_path=storage,
            failure_config=tune.FailureConfig(max_failures=top.trial.max_failures),
            callbacks=[progress],
            stop=stopper,
            verbose=0,
        ),
    )
    t = time.perf_counter()
    tuner.fit()
    progress.tune_fit_s = time.perf_counter() - t


class Progress(Callback):
    """Prints a live status line: trials done/running/failed, the folder's headline (best so far),
    elapsed and time left. `folder` has `rows` (with a `status`), `retries` and `headline()`, and
    optionally `work(start_rows)`: (units done since row `start_rows`, units left) when trials
    differ in length (time left is then per unit, not per trial)."""

    def __init__(self, folder: Any, total: int, every_s: float, label: str = "search", tick: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.folder, self.total, self.every_s, self.label = folder, total, every_s, label
        self.tick = tick  # called with each timed status line (the report catches up there)
        self.start = time.perf_counter()
        self.start_rows = len(folder.rows)
        self.last = 0.0
        self.running = 0
        self.tune_fit_s = 0.0
        self.seen, self.at_last = 0, self.start

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        self.running = sum(t.status == "RUNNING" for t in trials)
        if time.perf_counter() - self.last >= self.every_s:
            self.print_line()
            if self.tick is not None:
                self.tick()

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.running = sum(t.status == "RUNNING" and t is not trial for t in trials)  # Tune updates it later
        self.print_line()

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.on_trial_complete(iteration, trials, trial)

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        """A trial lost with its worker or node is started again (trial.max_failures)."""
        self.folder.retries[trial.trial_id] = self.folder.retries.get(trial.trial_id, 0) + 1
        print(f"[{self.label}] trial {trial.trial_id} lost its worker or node; retrying it", file=sys.stderr, flush=True)

    def print_line(self) -> None:
        self.last = time.perf_counter()
        rows = self.folder.rows
        done = len(rows)
        failed = sum(r.status == TrialStatus.FAILED for r in rows)
        stopped = sum(r.status == TrialStatus.STOPPED for r in rows)
        now = time.perf_counter()
        elapsed = now - self.start
        new = done - self.start_rows
        if new != self.seen:  # time per completion, measured at completions, counts down between them
            self.seen, self.at_last = new, now
        left = "?"
        if new > 0 and done < self.total:
            # Work units done this session and left; a folder whose trials differ in length says so.
            done_units, left_units = self.folder.work(self.start_rows) if hasattr(self.folder, "work") else (new, self.total - done)
            per_unit = (self.at_last - self.start) / max(done_units, 1e-9)
            left = f"~{_hms(max(0.0, per_unit * left_units - (now - self.at_last)))}"
        print(
            f"[{self.label}] {done}/{self.total} done, {self.running} running, {failed} failed{f', {stopped} stopped' if stopped else ''} | {self.folder.headline()} | "
            f"elapsed {_hms(elapsed)} | left {left}",
            file=sys.stderr,
            flush=True,
        )


def _first_line(e: BaseException) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"
