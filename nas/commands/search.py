"""`spinenas search`: the searcher proposes, Ray Tune trains proxies, the recorder writes results.

Resumable: every completion is appended to trials.csv and the searcher state saved right after,
so a driver killed at any moment (even kill -9) continues with `resume=true`: finished trials are
kept (rows the saved state has not seen yet are replayed into it), trials that were running are
started afresh, and the total is the number asked for.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence


from nas.core.schedule import parse_rung_entries, parse_rungs
from nas.reporting.pareto import FrontSettings, cost_label, cost_name
from nas.reporting.recorder import SearchRecorder
from nas.reporting.report import write_report
from nas.reporting.run_folder import out_dir_of
from nas.reporting.trials import SearchFolder
from nas.runner.asha import make_scheduler
from nas.runner.campaign import Campaign, Progress, SearcherBridge, run_trials
from nas.runner.failures import FailureWatch, RepeatedFailureError
from nas.runner.prepare import prepare
from nas.runner.screened import ScreenedSearcher
from nas.searchers import ArchSearcher, make_searcher
from nas.settings.search import SearchSettings, resume_fixed, settings_from
from search_space.catalog import get_preset


@dataclass
class SearchOutcome:
    """What a finished search produced."""

    out_dir: Path
    summary: dict[str, Any]


def run_search(given: SearchSettings | Sequence[str]) -> SearchOutcome:
    """Run (or resume) the search the settings (or `key=value` overrides) describe, write the results;
    returns the summary."""
    settings = settings_from(given)
    top = settings.top
    folder = SearchFolder(out_dir_of(top.out_dir, "search"), settings.metrics)
    out = folder.path
    campaign = Campaign(settings, folder, settings.record(), resume_fixed(), "search", "a search")  # on resume, the same fixed settings
    prepare(settings)  # after the folder checks: a wrong out_dir or resume costs no data read
    searcher = build_searcher(settings)
    screened = ScreenedSearcher(searcher, settings.screen.build(settings.space, top.seed, settings.evaluator, get_preset(top.preset)))
    watch = FailureWatch(top.trial.abort_after_identical_failures)
    recorder = SearchRecorder(folder, searcher, top.state_every_s)
    try:
        with campaign.open(ray_now=True, marker=True):
            if top.resume:
                restore(searcher, folder)
                screened.observe_rows(folder.rows)  # the screen's data are the finished trials, all of them, whatever the saved state held
            progress = Progress(folder, top.trials, top.progress_every_s, tick=recorder.tick)
            fit_s = _fit(settings, screened, folder, recorder, progress, watch)
            recorder.save_state()  # the final state, whatever the save interval
    except BaseException:
        if folder.csv.exists():  # the page says the search stopped, not that it runs
            with contextlib.suppress(Exception):  # never hide the error that stopped the search
                write_report(out, "stopped")
        raise
    finally:
        recorder.close()
    # This session's time in the Tune loop and around it (Ray start-up excluded).
    front = FrontSettings.of_reward(asdict(settings.reward))
    summary = folder.finalize(settings.space, {"session_s": fit_s, "tune_fit_s": fit_s}, front)
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


def build_searcher(settings: SearchSettings) -> ArchSearcher:
    """The configured searcher, with the search's concurrency, seed and completion rules."""
    top = settings.top
    return make_searcher(
        settings.searcher,
        settings.space,
        concurrency=top.max_concurrent,
        seed=top.seed,
        failure_reward=top.failure_reward,
        dedup=top.dedup,
        stopped_reward=settings.scheduler.stopped_reward,
    )


def restore(searcher: ArchSearcher, folder: SearchFolder) -> None:
    """Load the saved searcher state and replay the rows it has not seen."""
    if folder.searcher_state.exists():
        searcher.restore(str(folder.searcher_state))
    searcher.pending.clear()  # those trials died with the driver; they are proposed afresh
    seen = set(searcher.completed)
    for row in folder.rows:
        if row.trial_id not in seen:
            searcher.replay(row.trial_id, folder.proposal_of(row), row.reward, row.status, folder.result_of(row))


def _rung_points(front: tuple[str, str], folder: SearchFolder) -> dict[str, list[tuple[int, tuple[float, float]]]]:
    """(cost, metric) at each rung of the earlier trials of a search whose answer is a front, as
    trials.csv stored them, so that a resumed ASHA keeps its two-objective rule. Rows written before
    the rung metrics were stored give none (their rung rewards still seed the cutoffs)."""
    metric, cost = front
    out = {}
    for row in folder.rows:
        points = [(epoch, (m[cost], m[metric])) for epoch, _, m in parse_rung_entries(row.values.get("rungs", "")) if metric in m and cost in m]
        if points:
            out[row.trial_id] = points
    return out


def _fit(settings: SearchSettings, searcher: ScreenedSearcher, folder: SearchFolder, recorder: SearchRecorder, progress: Progress, watch: FailureWatch) -> float:
    """The remaining trials as one campaign (ASHA given the rung rewards of earlier trials)."""
    remaining = settings.top.trials - len(folder.rows)
    if remaining <= 0:
        return 0.0
    front = settings.front
    scheduler = make_scheduler(settings.scheduler, settings.epochs or 0, front)
    if scheduler is not None:
        history = {r.trial_id: parse_rungs(r.values.get("rungs", "")) for r in folder.rows}
        scheduler.seed(history, _rung_points(front, folder) if front else None)
    bridge = SearcherBridge(searcher, [recorder.record, watch.see])
    return run_trials(settings, bridge, remaining, folder.path, "tune", [progress, recorder], scheduler, settings.eval_at, stopper=watch)


def format_search(outcome: SearchOutcome) -> str:
    """What `spinenas search` prints at the end: counts, the best trial, the front (if any), the
    cost and the files written."""
    s = outcome.summary
    stopped = f", {s['stopped']} stopped early" if s["stopped"] else ""
    lines = ["", f"search finished: {s['trials']} trials ({s['ok']} trained, {s['cached']} cached{stopped}, {s['failed']} failed)"]
    if "best_trial" in s:
        lines.append(f"best: trial {s['best_trial']}, reward {s['best_reward']:.4f}, AP {s['best_AP']:.4f}, id {s['best_arch_id']}")
    if "pareto" in s:
        lines.append(format_front(outcome.out_dir))
    lines.append(format_cost(s))
    for name in ("report.html", "trials.csv", "best.yaml", "best.png", "progress.png", "pareto.csv", "pareto.png", "pareto", "summary.json", "searcher.json", "config.yaml", "tensorboard"):
        if (outcome.out_dir / name).exists():
            lines.append(f"  {outcome.out_dir / name}")
    return "\n".join(lines)


def format_front(out_dir: Path) -> str:
    """The accuracy-cost front a search wrote (pareto.json): its hypervolume and members."""
    front = json.loads((out_dir / "pareto.json").read_text())
    metric, cost = front["metric"], front["cost"]
    label = cost_label(cost)
    lines = [f"front ({metric} up, {cost_name(cost)} down): {front['front_size']} trials, hypervolume {front['hypervolume']:.4g} ({metric} x {label}, reference {front['reference']:.4g})"]
    for m in front["members"]:
        lines.append(f"  trial {m['trial']}: {metric} {float(m['value']):.4f}, {label} {float(m[cost]):.4g}  {out_dir / m['spec']}")
    return "\n".join(lines)


def format_cost(summary: dict) -> str:
    """The cost lines printed at the end of a search (the same numbers as summary.json)."""
    per = summary["per_trial"]
    lines = [
        f"cost: trials {summary['trial_wall_s'] / 3600:.3f} h wall in all ({per['wall_s']:.1f} s per trial), "
        f"CPU {summary['cpu_hours']:.3f} h ({per['cpu_s']:.1f} s per trial), "
        f"GPU {summary['gpu_hours']:.3f} h ({per['gpu_s']:.1f} s per trial)"
    ]
    for node, n in summary["by_node"].items():
        lines.append(f"  node {node}: {n['trials']} trials, {n['wall_s']:.1f} s")
    return "\n".join(lines)
