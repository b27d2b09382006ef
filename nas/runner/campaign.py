"""One campaign: trials proposed by a Tune searcher, run on Ray Tune, recorded as they finish.

Search, fidelity and plan (and the commands after them) run their trials here: the trial code of
`nas.runner.trial` with the resources, concurrency, retries, scheduler and stopper of the
settings, on re-used actors. A search's searcher is wrapped by `SearcherBridge` (its completions go
to the recorder and the failure watch); runs planned in advance (fidelity's and finalize's seeds)
are handed out by `nas.runner.planned.PlannedRuns`. `Progress` prints the status line.
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence, TextIO

from omegaconf import OmegaConf
from ray.tune import Callback
from ray.tune.search import Searcher

from nas.core.status import TrialStatus
from nas.reporting.progress_bar import is_terminal
from nas.reporting.run_folder import RunFolder, running_marker
from nas.searchers.base import ArchSearcher, Completion
from nas.runner.ray_session import check_resources, ray_session
from nas.runner.screened import ScreenedSearcher
from nas.settings.search import SearchSettings, check_resumable
from search_space.errors import ConfigError, StoppedEarly
from search_space.fileio import atomic_write_text
from search_space.spec import Architecture


class Campaign:
    """The lifecycle every command that trains shares (search, fidelity, finalize, proxy-design, the
    benchmark table): refuse a folder that holds such a run unless resuming (and a resume whose
    `fixed` settings differ), before any data is read; then, in `open`, join or start Ray, check
    that a trial fits it, mark the folder as held (a search: `finalize` refuses a running one), read
    back the rows, write config.yaml (`record`) and every spec under archs/, and say where it
    writes. Runs decided in advance are trained with `run`; a search hands its searcher to
    `run_trials` inside the opened campaign."""

    def __init__(
        self, settings: SearchSettings, folder: Any, record: Any, fixed: Sequence[str], label: str, what: str, say: Callable[[str], None] | None = None
    ) -> None:
        self.settings, self.folder, self.record, self.label = settings, folder, record, label
        self.out: Path = folder.path
        if settings.top.resume:
            check_resumable(self.out, record, fixed)
        elif folder.csv.exists():
            raise ConfigError(f"{self.out} already holds {what}; continue it with resume=true or choose another out_dir")
        self.progress: Progress | None = None
        self.say = say or (lambda line: print(line, file=sys.stderr))

    @contextlib.contextmanager
    def open(self, specs: Mapping[str, Architecture] | None = None, total: int | None = None, *, ray_now: bool = False, marker: bool = False) -> Iterator["Campaign"]:
        """The folder started (rows read back on resume), config.yaml and archs/<name>.yaml written,
        a status line over `total` runs (None: each `run` brings its own). A new campaign (or one
        opened `ray_now`) joins or starts Ray first (a cluster that cannot hold a trial is refused
        before anything is written); a resumed one only when a run is left to train, so re-reading
        a finished campaign with today's code (`resume=true`) needs no cluster. `marker`: the folder
        holds a RUNNING.json while the block runs."""
        with contextlib.ExitStack() as stack:
            self._stack, self._ray = stack, False
            if ray_now or not self.settings.top.resume:
                self._join_ray()
            if marker:
                stack.enter_context(running_marker(self.out))  # after the checks: a refused campaign leaves no folder
            self.say(f"{self.label}: writing into {self.out}")
            self.folder.start(resume=self.settings.top.resume)
            atomic_write_text(self.out / "config.yaml", OmegaConf.to_yaml(self.record))
            for name, arch in (specs or {}).items():
                arch.save(self.out / "archs" / f"{name}.yaml")
            if total is not None:
                self.progress = Progress(self.folder, total, self.settings.top.progress_every_s, label=self.label)
            yield self

    def _join_ray(self) -> None:
        if not self._ray:
            self._stack.enter_context(ray_session(self.settings.ray))
            check_resources(self.settings.top.trial)
            self._ray = True

    def print_progress(self) -> None:
        """The campaign's status line once more, as it ends (when it counts its runs)."""
        if self.progress is not None:
            self.progress.print_line()

    def run(self, runs: Sequence[Any], progress: Progress | None = None) -> int:
        """Train the `runs` the folder holds no finished row of; returns how many were trained."""
        done = self.folder.done()
        if any(r.key not in done for r in runs):
            self._join_ray()
        return run_remaining(self.settings, self.folder, runs, self.out, self.label, progress or self.progress)


def run_remaining(settings: SearchSettings, folder: Any, runs: Sequence[Any], out_dir: Path, name: str, progress: Callback | None) -> int:
    """Train the planned `runs` (`nas.runner.planned.PlannedRun`) that `folder` holds no finished row
    of (its `done()`), each recorded in the folder as it finishes; returns how many were trained."""
    from nas.runner.planned import PlannedRuns

    done = folder.done()
    remaining = [r for r in runs if r.key not in done]
    if remaining:
        before = len(folder.rows)
        run_trials(settings, PlannedRuns(remaining, folder.append), len(remaining), out_dir, name, [progress] if progress is not None else [])
        # Every finished run wrote a row, a failed one too (which a folder's `done` may not count:
        # finalize trains a failed run again on resume): a run without a row never finished.
        written = {(r.values["arch_id"], r.values["run"]) for r in folder.rows[before:]}
        left = [r for r in remaining if r.key not in written]
        if left:  # Tune returns normally after a Ctrl-C: what follows must not judge a part of the runs
            raise StoppedEarly(
                f"stopped with {len(left)} of {len(runs)} planned runs unfinished; the {len(runs) - len(left)} finished are in {folder.csv}: "
                f"continue with the same command and resume=true out_dir={out_dir}"
            )
    return len(remaining)


def run_trials(
    settings: SearchSettings,
    searcher: Searcher,
    num_samples: int,
    out_dir: Path,
    name: str,
    callbacks: Sequence[Callback] = (),
    scheduler: Any = None,
    eval_at: Sequence[int] = (),
    stopper: Any = None,
) -> float:
    """Run `num_samples` trials proposed by `searcher`; returns the seconds Tune's loop ran.

    Trials hold `trial.cpus`/`trial.gpus`, at most `max_concurrent` at a time, on re-used actors;
    a trial lost with its worker is retried `trial.max_failures` times.
    """
    from ray import tune

    from nas.runner.trial import TrialSpec, trainable

    top = settings.top
    fn = tune.with_parameters(trainable, spec=TrialSpec.of(settings, eval_at))
    fn = tune.with_resources(fn, {"cpu": top.trial.cpus, "gpu": top.trial.gpus})
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
            callbacks=list(callbacks),
            stop=stopper,
            verbose=0,
        ),
    )
    t = time.perf_counter()
    tuner.fit()
    return time.perf_counter() - t


class SearcherBridge(Searcher):
    """Tune's searcher for a search: proposals from the `ArchSearcher` (behind its screen, if any), and each of its completions
    handed to `sinks` in order (the recorder, the failure watch) before the next trial starts."""

    def __init__(self, searcher: ArchSearcher | ScreenedSearcher, sinks: Sequence[Callable[[Completion], Any]]) -> None:
        super().__init__(metric="reward", mode="max")
        self.proposer, self.sinks = searcher, list(sinks)  # not `searcher`: Tune takes an object with one for a wrapper

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        return True  # metric and mode are fixed: reward, max

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        return self.proposer.suggest(trial_id)

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        completion = self.proposer.complete(trial_id, result, error)
        if completion is not None:
            for sink in self.sinks:
                sink(completion)

    def save(self, checkpoint_path: str) -> None:
        """Tune's own copy of the searcher state (the run folder has the one that counts)."""
        self.proposer.save(checkpoint_path)

    def restore(self, checkpoint_path: str) -> None:
        self.proposer.restore(checkpoint_path)


class Progress(Callback):
    """Prints a live status line: trials done/running/failed, the folder's headline (best so far),
    elapsed and time left (per unit of the folder's `work`: trials, or epochs where trials differ
    in length); counts trials restarted after a lost worker into the folder's `retries`.

    On a terminal the line comes every `every_s`; into a log file or pipe it comes when a trial
    finishes or fails and otherwise at most every `quiet_every_s`, so a long search's log stays
    short. `tick` (the report's catch-up) runs every `every_s` either way."""

    def __init__(
        self, folder: RunFolder, total: int, every_s: float, label: str = "search", tick: Callable[[], None] | None = None,
        stream: TextIO | None = None, quiet_every_s: float = 60.0,
    ) -> None:  # fmt: skip
        super().__init__()
        self.folder, self.total, self.every_s, self.label = folder, total, every_s, label
        self._stream = stream  # None: sys.stderr at each print (Tune pickles its callbacks; a stream does not pickle)
        self.line_every_s = every_s if is_terminal(self.stream) else max(every_s, quiet_every_s)
        self.ticked = 0.0
        self.tick = tick  # called with each timed status line (the report catches up there)
        self.start = time.perf_counter()
        self.start_rows = len(folder.rows)
        self.last = 0.0
        self.running = 0
        self.seen, self.at_last = 0, self.start

    @property
    def stream(self) -> TextIO:
        return self._stream or sys.stderr

    def on_step_end(self, iteration: int, trials: list, **info: Any) -> None:
        self.running = sum(t.status == "RUNNING" for t in trials)
        now = time.perf_counter()
        if now - self.last >= self.line_every_s:
            self.print_line()
        if self.tick is not None and now - self.ticked >= self.every_s:
            self.ticked = now
            self.tick()

    def on_trial_complete(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.running = sum(t.status == "RUNNING" and t is not trial for t in trials)  # Tune updates it later
        self.print_line()

    def on_trial_error(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        self.on_trial_complete(iteration, trials, trial)

    def on_trial_recover(self, iteration: int, trials: list, trial: Any, **info: Any) -> None:
        """A trial lost with its worker or node is started again (trial.max_failures)."""
        self.folder.retries[trial.trial_id] = self.folder.retries.get(trial.trial_id, 0) + 1
        print(f"[{self.label}] trial {trial.trial_id} lost its worker or node; retrying it", file=self.stream, flush=True)

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
            done_units, left_units = self.folder.work(self.start_rows, self.total)
            per_unit = (self.at_last - self.start) / max(done_units, 1e-9)
            left = f"~{_hms(max(0.0, per_unit * left_units - (now - self.at_last)))}"
        print(
            f"[{self.label}] {done}/{self.total} done, {self.running} running, {failed} failed{f', {stopped} stopped' if stopped else ''} | {self.folder.headline()} | "
            f"elapsed {_hms(elapsed)} | left {left}",
            file=self.stream,
            flush=True,
        )


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"
