"""The status line of a campaign (`nas.runner.campaign.Progress`): how often it prints on a
terminal and into a log, and that the report's catch-up keeps its own pace; a campaign stopped by
Ctrl-C stops its command."""

import io
import os
import signal
from types import SimpleNamespace

import pytest
from ray.tune import Callback

from nas.reporting.run_folder import RunFolder
from nas.runner import campaign
from nas.runner.campaign import Progress


class Folder(RunFolder):
    CSV = "rows.csv"
    COLUMNS = ("number", "trial_id", "status", "reward", "error", "finished_at")

    def headline(self) -> str:
        return f"{len(self.rows)} rows"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def clock(monkeypatch):
    now = {"t": 1000.0}
    monkeypatch.setattr(campaign.time, "perf_counter", lambda: now["t"])
    return now


def _run(progress: Progress, folder: Folder, clock: dict, seconds: int, finish_at: set[int]) -> None:
    """Tune's loop, one step a second for `seconds`; a trial finishes at each second in `finish_at`."""
    running = [SimpleNamespace(status="RUNNING")]
    for second in range(1, seconds + 1):
        clock["t"] += 1.0
        if second in finish_at:
            folder.append_row(f"t{second}", {"status": "ok", "reward": 0.1})
            progress.on_trial_complete(second, running, SimpleNamespace(status="TERMINATED"))
        progress.on_step_end(second, running)


def test_a_log_gets_a_line_per_finished_trial_and_at_most_one_a_minute(tmp_path, clock):
    folder = Folder(tmp_path)
    folder.start(resume=False)
    log, ticks = io.StringIO(), []
    progress = Progress(folder, total=10, every_s=10, tick=lambda: ticks.append(clock["t"]), stream=log)
    _run(progress, folder, clock, seconds=300, finish_at={100, 130})
    lines = log.getvalue().splitlines()
    # A line at the start, then one a minute after the last line, and one at each finished trial
    # (100 s, 130 s): six in five minutes where a 10-second status line would have written 31.
    elapsed = [line.split("elapsed ")[1].split(" ")[0] for line in lines]
    assert elapsed == ["0m01s", "1m01s", "1m40s", "2m10s", "3m10s", "4m10s"], lines
    assert "1/10 done" in lines[2] and "2/10 done" in lines[3]
    assert len(ticks) == 30  # the report still catches up every 10 s


def test_a_terminal_gets_the_line_every_every_s(tmp_path, clock):
    folder = Folder(tmp_path)
    folder.start(resume=False)
    tty = Terminal()
    progress = Progress(folder, total=10, every_s=10, stream=tty)
    _run(progress, folder, clock, seconds=300, finish_at={100})
    assert len(tty.getvalue().splitlines()) == 31  # 30 timed lines and one completion line


class CtrlC(Callback):
    """A Tune callback that presses Ctrl-C (SIGINT to this process) when the first trial completes,
    as a user would while a campaign runs; Tune then stops the rest and returns normally."""

    pressed = False

    def on_trial_complete(self, iteration, trials, trial, **info):
        if not self.pressed:  # once: Tune restores Python's own handler afterwards, where a second press would end pytest
            self.pressed = True
            os.kill(os.getpid(), signal.SIGINT)


def test_a_campaign_stopped_by_ctrl_c_says_so_and_judges_nothing(tmp_path, shared_ray):
    """Tune swallows a Ctrl-C and returns as if done: `run_remaining` must notice the runs without
    a row and stop the command (exit 130 from the CLI), so that proxy-design does not judge a rung
    on a part of its runs (it did, once, and went on to its next rung with one candidate)."""
    from nas.reporting.planned_folder import PlannedFolder
    from nas.runner.planned import Candidate, PlannedRun
    from nas.settings.search import load_settings
    from search_space.catalog import get_architecture
    from search_space.errors import StoppedEarly

    settings = load_settings(["proxy=surrogate", "max_concurrent=1", "proxy.duration_s=0.5"])
    folder = PlannedFolder(tmp_path)
    folder.start(resume=False)
    arch = Candidate("spinenet49", "catalog", get_architecture("spinenet49"), 0)
    runs = [PlannedRun(arch, f"seed{k}", k, {"seed": k}) for k in range(4)]
    with pytest.raises(StoppedEarly, match=r"stopped with [123] of 4 planned runs unfinished; .* resume=true") as stopped:
        campaign.run_remaining(settings, folder, runs, tmp_path, "ctrl-c", CtrlC())
    assert stopped.value.exit_code == 130
    finished = {r.values["run"] for r in folder.read_rows()}
    assert finished and len(finished) < 4  # what finished is kept, for the resume


def test_a_campaign_whose_runs_fail_finishes_without_stopping(tmp_path, shared_ray):
    """A run that fails (here: a resampling width of 0, refused while building) is finished, with a
    failed row, even for a folder whose `done` counts only ok runs (finalize retrains failed runs
    on resume): no StoppedEarly, so finalize still reports with its failures counted."""
    from nas.reporting.finalize import FinalizeFolder
    from nas.runner.planned import Candidate, PlannedRun
    from nas.settings.search import load_settings
    from search_space.catalog import get_architecture

    settings = load_settings(["proxy=synthetic_tiny", "max_concurrent=1"])
    folder = FinalizeFolder(tmp_path)
    folder.start(resume=False)
    arch = Candidate("spinenet49", "catalog", get_architecture("spinenet49"), 0)
    runs = [PlannedRun(arch, f"seed{k}", k, {"seed": k, "model.resample_alpha": 0.001}) for k in range(2)]
    assert campaign.run_remaining(settings, folder, runs, tmp_path, "failing", None) == 2
    rows = folder.read_rows()
    assert [r.status for r in rows] == ["failed", "failed"] and folder.done() == set()

