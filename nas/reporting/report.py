"""report.html: one self-contained page about a search, running or finished.

Everything the page shows is read from the run folder (trials.csv, config.yaml, summary.json,
searcher.json), so `spinenas report RUN_DIR` works on any run, and the search rewrites the page
after completions while it runs. Plots are inline SVG, the only script sorts the trial table; the
page needs no network. The file is replaced atomically, so a browser never reads half a page.
"""

from __future__ import annotations

import functools
import io
import json
import math
import time
from pathlib import Path
from typing import Any, Sequence

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402

from nas.core.ranking import kendall_tau  # noqa: E402
from nas.core.status import FINISHED, TrialStatus  # noqa: E402
from nas.core.pareto import pareto_front  # noqa: E402
from nas.reporting.pareto import FrontSettings, cost_label, cost_name, front_summary  # noqa: E402
from nas.reporting.plots import columns, front_figure, open_axes, progress_figure  # noqa: E402
from nas.reporting.run_folder import Row  # noqa: E402
from nas.reporting.trials import SearchFolder  # noqa: E402
from nas.searchers import SEARCHER_KINDS  # noqa: E402  (the registry and options only: no torch)
from search_space.draw import render  # noqa: E402
from search_space.errors import InputError  # noqa: E402
from search_space.fileio import atomic_write_text  # noqa: E402
from search_space.space import SearchSpace, get_space  # noqa: E402
from search_space.spec import Architecture  # noqa: E402

REPORT = "report.html"
TOP_K = 4
LIVE_REFRESH_S = 30  # the browser reloads a running search's page this often

# Trial table: (trials.csv column, header, how to show the cell).
TABLE = (
    ("number", "#", "int"), ("status", "status", "text"), ("reward", "reward", "f4"), ("AP", "AP", "f4"),
    ("AP50", "AP50", "f4"), ("flops", "FLOPs (M)", "mega"), ("params", "params (M)", "mega"), ("arch_id", "architecture", "text"),
    ("epoch", "epoch", "int"), ("wall_s", "wall s", "f1"), ("node", "node", "text"), ("finished_at", "finished", "text"),
)  # fmt: skip


def write_report(run_dir: str | Path, state: str | None = None) -> Path:
    """Write `<run_dir>/report.html` (atomically) and return its path.

    `state` is "running", "finished" or "stopped"; None infers it from the folder (finished when
    summary.json accounts for every row of trials.csv).
    """
    run = Path(run_dir)
    if not run.is_dir():
        raise InputError(f"{run}: no such run folder")
    page = render_report(RunData(run), state)
    path = run / REPORT
    atomic_write_text(path, page)
    return path


class LiveReport:
    """The report of a running search: written at the start, after completions and at the end.

    A refresh after a completion is put off while less than `spacing` x the last refresh's own
    time has passed, so a search of very short trials spends at most ~1/spacing of the driver's
    time on its page; `catch_up` (called from the status-line timer) writes one put off.
    """

    def __init__(self, run_dir: Path, spacing: float = 20.0) -> None:
        self.run_dir, self.spacing = Path(run_dir), spacing
        self.cost_s, self.done_at = 0.0, -math.inf
        self.pending = False

    def refresh(self, state: str = "running", force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self.done_at < self.spacing * self.cost_s:
            self.pending = True
            return
        write_report(self.run_dir, state)
        self.done_at = time.perf_counter()
        self.cost_s = self.done_at - now
        self.pending = False

    def catch_up(self) -> None:
        """Write a refresh that was put off, once the spacing allows it."""
        if self.pending:
            self.refresh()


class RunData:
    """What the report reads from a run folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.folder = SearchFolder(path)
        self.rows: list[Row] = self.folder.read_rows()
        self.folder.rows = self.rows
        self.config = _read_config(path / "config.yaml")
        self.summary = _read_json(path / "summary.json")
        state = _read_json(path / "searcher.json")
        self.searcher = str(state.get("searcher") or self.config.get("searcher", {}).get("name", "?"))
        self.history: list[dict[str, Any]] = list(state.get("algorithm", {}).get("history", []))
        self.space = _space(self.config)
        self.finalize = _read_json(path / "finalize" / "finalize.json")  # `spinenas finalize RUN_DIR` writes it

    @property
    def asked(self) -> int | None:
        trials = self.config.get("trials")
        return int(trials) if trials is not None else None

    def inferred_state(self) -> str:
        if self.summary.get("trials") == len(self.rows) and (self.asked is None or len(self.rows) >= self.asked):
            return "finished"
        return "running or interrupted"


def _read_config(path: Path) -> DictConfig:
    node = OmegaConf.load(path) if path.exists() else OmegaConf.create({})  # yaml.safe_load underneath
    return node if isinstance(node, DictConfig) else OmegaConf.create({})  # a list at the top is no run's config


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}  # not there yet (a search that just started), or being replaced


def _space(config: DictConfig) -> SearchSpace | None:
    """The run's search space, or None where config.yaml is missing or names one unknown here."""
    try:
        return get_space(config.space.name, block_adjustments=config.space.block_adjustments, parent_window=config.space.parent_window)
    except (AttributeError, KeyError, ValueError):
        return None


# -- page -----------------------------------------------------------------------------------------


Part = dict[str, Any]  # one piece of a section, as the template's `part` macro draws it (kind + its data)


def render_report(run: RunData, state: str | None = None) -> str:
    """The whole page as a string."""
    state = state or run.inferred_state()
    front_settings = FrontSettings.of_reward(run.config.get("reward") if run.config else None)  # the pair its reward declares
    front = front_summary(run.rows, front_settings)  # None: no such pair, or no trial carries the cost
    sections = [
        _section("Reward per trial", [_figure(progress_figure(run.rows, f"{len(run.rows)} trials"))]),
        *([_section(f"Accuracy against {cost_name(str(front_settings.cost))} (the front)", _cost_front(front, front_settings))] if front is not None else []),
        _section("AP against cost (Pareto front)", _pareto(run.rows)),
        *([_section("Screen: predicted against real reward", _screen(run.rows))] if _screened(run.rows) else []),
        _section(f"Top {TOP_K} architectures", _top(run)),
        _section("Searcher progress", _searcher(run)),
        *([_section("Finalize: fresh seeds against the baselines", _finalize(run.finalize))] if run.finalize else []),
        _section("Trials", _trial_table(run.rows), note="click a column header to sort"),
        _section("Failed trials", _failed(run.rows)),
        _section("Resolved config", [{"kind": "pre", "text": OmegaConf.to_yaml(run.config) if run.config else "(no config.yaml)"}]),
    ]
    refresh_s = LIVE_REFRESH_S if state == "running" else None
    return page_template().render(title=f"SpineNAS search {run.path.name}", refresh_s=refresh_s, status=_status(run, state), sections=sections)


@functools.cache
def page_template() -> Any:
    """The page's Jinja2 template (autoescaped: the sections arrive as plain data, the figures as SVG)."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("nas.reporting", "templates"), autoescape=True, keep_trailing_newline=True)
    return env.get_template("report.html.j2")


def _section(heading: str, parts: list[Part], note: str = "") -> dict[str, Any]:
    return {"heading": heading, "note": note, "parts": parts}


def _text(text: str, empty: bool = False) -> Part:
    return {"kind": "text", "text": text, "empty": empty}


def _table(head: Sequence[str | dict[str, str]], rows: Sequence[Sequence[Any]], cls: str = "", id: str = "", row_cls: Sequence[str] = ()) -> Part:
    """A table part: `head` texts (or {text, kind}), each row's cells as texts or cell dicts
    ({text, value} for a sortable number, {text, code}, {text, state}, {text, header})."""
    cell = lambda c: c if isinstance(c, dict) else {"text": str(c)}  # noqa: E731
    body = [{"cls": row_cls[k] if row_cls else "", "cells": [cell(c) for c in row]} for k, row in enumerate(rows)]
    return {"kind": "table", "cls": cls, "id": id, "head": [cell(h) for h in head], "rows": body}


def _status(run: RunData, state: str) -> dict[str, Any]:
    rows = run.rows
    counts = run.folder.counts()
    asked = f" of {run.asked}" if run.asked else ""
    best = run.folder.best()
    times = [r.values.get("finished_at") for r in rows if r.values.get("finished_at")]
    cfg = run.config
    items = [
        ("state", {"text": state, "state": state.split()[0]}),
        ("trials", f"{len(rows)}{asked} ({', '.join(f'{n} {s}' for s, n in counts.items())})"),
        ("best", _best(best)),
        ("searcher / space / proxy", f"{run.searcher} / {run.space.name if run.space else '?'} / {_proxy_label(cfg.get('proxy', {}))}"),
        ("first / last completion", f"{times[0]} / {times[-1]}" if times else "-"),
        ("cost", _cost(run.folder.cost(), len(rows))),
        ("page written", time.strftime("%Y-%m-%d %H:%M:%S") + (f" (reloads every {LIVE_REFRESH_S} s)" if state == "running" else "")),
    ]
    return {"name": run.path.name, "table": _table([], [[{"text": k, "header": True}, v] for k, v in items], cls="status")}


def _best(best: Row | None) -> str:
    if best is None:
        return "-"
    ap = _float(best.values.get("AP"))
    return f"trial {best.number}: reward {best.reward:.4f}, AP {ap:.4f}, architecture {best.values.get('arch_id', '')}"


def _cost(cost: dict[str, Any], n: int) -> str:
    per = cost["per_trial"]["wall_s"] if n else 0.0
    return (
        f"{cost['trial_wall_s'] / 3600:.3f} h of trial wall time ({per:.1f} s per trial), "
        f"CPU {cost['cpu_hours']:.3f} h, GPU {cost['gpu_hours']:.3f} h, on {len(cost['nodes'])} node(s)"
    )


def _svg(fig: Any) -> str:
    """A matplotlib figure as inline SVG (text kept as text: smaller, and searchable)."""
    open_axes(fig)
    buf = io.StringIO()
    with plt.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _figure(fig: Any) -> Part:
    return {"kind": "figure", "svg": _svg(fig)}


def _cost_front(front: dict[str, Any], settings: FrontSettings) -> list[Part]:
    """The front plot, its hypervolume and a table of its members (spec files in pareto/)."""
    assert settings.cost is not None
    label = cost_label(settings.cost)
    fig = front_figure(front["points"], settings.metric, front["reference"], f"{len(front['points'])} finished trials", label)
    ref = "reward.ref_ms" if settings.ref is not None else "1.1 x the costliest trial"
    text = (
        f"{front['front_size']} architectures on the front; hypervolume {front['hypervolume']:.4g} "
        f"({settings.metric} x {label}, up to {front['reference']:.4g} = {ref}, and {settings.metric} 0). "
        "Their specs are pareto/trial<N>.yaml, the list pareto.csv (written when the search ends)."
    )
    rows = [[r.number, f"{_float(r.values.get(settings.cost)):.4g}", f"{_float(r.values.get(settings.metric)):.4f}", f"{r.reward:.4f}", r.values.get("arch_id", "")] for r in front["front"]]
    return [_figure(fig), _text(text), _table(["trial", label, settings.metric, "reward", "architecture"], rows, cls="trials")]


def _pareto(rows: Sequence[Row]) -> list[Part]:
    done = [r for r in rows if r.status in FINISHED and _float(r.values.get("AP")) == _float(r.values.get("AP"))]
    if not done:
        return [_text("No finished trial yet.", empty=True)]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, key, label in ((axes[0], "flops", "FLOPs (M, proxy size)"), (axes[1], "params", "params (M)")):
        pts = [(_float(r.values.get(key)) / 1e6, _float(r.values.get("AP"))) for r in done]
        ax.scatter(*columns(pts), s=12, color="#4c72b0", alpha=0.7, label="trial")
        front = pareto_front(pts)
        ax.step(*zip(*front), where="post", color="#dd8452", label="Pareto front")
        ax.scatter(*columns(front), s=22, color="#dd8452")
        ax.set_xlabel(label)
        ax.set_ylabel("AP")
        ax.legend(fontsize=8, frameon=False)
    return [_figure(fig)]


def _screened(rows: Sequence[Row]) -> list[tuple[int, float, float, float]]:
    """(trial, predicted reward, real reward, screening seconds) of the finished trials a screen chose."""
    return [(r.number, _float(r.values.get("screen_score")), r.reward, _float(r.values.get("screen_s")))
            for r in rows if r.status in FINISHED and str(r.values.get("screen_score", "")) not in ("", "nan")]  # fmt: skip


def _screen(rows: Sequence[Row]) -> list[Part]:
    """The screen's estimate of each trained architecture against its real reward, and the running
    Kendall tau between the two as the search went on (docs/screen.md)."""
    pts = _screened(rows)
    trials, pred, real, secs = (list(v) for v in zip(*pts))
    running = [(trials[k - 1], kendall_tau(np.array(pred[:k]), np.array(real[:k]))) for k in range(3, len(pts) + 1)]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    axes[0].scatter(pred, real, s=14, color="#c44e52", alpha=0.8)
    axes[0].set_xlabel("the screen's score of the trained architecture")
    axes[0].set_ylabel("reward")
    if running:
        axes[1].plot(*zip(*running), color="#c44e52")
    axes[1].axhline(0, color="#dddddd", lw=0.8)
    axes[1].set_xlabel("trial")
    axes[1].set_ylabel("Kendall tau so far")
    tau = running[-1][1] if running else float("nan")
    text = (
        f"{len(pts)} trials chosen by the screen; Kendall tau of the screen's score against the real reward {tau:.2f} over them; "
        f"choosing took {sum(secs) / len(secs):.1f} s a trial on the driver."
    )
    return [_figure(fig), _text(text)]


def _top(run: RunData) -> list[Part]:
    done = sorted((r for r in run.rows if r.status in FINISHED), key=lambda r: -r.reward)
    seen, top = set(), []
    for r in done:  # distinct architectures (a cached duplicate repeats one)
        if r.values.get("arch_id") not in seen:
            seen.add(r.values.get("arch_id"))
            top.append(r)
        if len(top) == TOP_K:
            break
    if not top:
        return [_text("No finished trial yet.", empty=True)]
    if run.space is None:
        return [_text("The run folder has no config.yaml naming its search space; architectures cannot be drawn.", empty=True)]
    cards = []
    for rank, r in enumerate(top, 1):
        arch = run.space.decode(r.actions, name=f"trial{r.number}")
        v = r.values
        caption = (
            f"#{rank}: trial {r.number}, reward {r.reward:.4f}, AP {_float(v.get('AP')):.4f}, "
            f"{_float(v.get('flops')) / 1e6:.0f}M FLOPs, {_float(v.get('params')) / 1e6:.2f}M params, id {arch.id}"
        )
        cards.append({"svg": _arch_svg(arch), "caption": caption})
    return [{"kind": "cards", "cards": cards}]


_DRAWN: dict[str, str] = {}  # architecture id -> its drawing: the top four rarely change between refreshes


def _arch_svg(arch: Architecture) -> str:
    if arch.id not in _DRAWN:
        if len(_DRAWN) >= 64:
            _DRAWN.clear()
        fig = render(arch)
        width, height = fig.get_size_inches()
        fig.set_size_inches(width * 0.6, height * 0.6)
        _DRAWN[arch.id] = _svg(fig)
    return _DRAWN[arch.id]


def _searcher(run: RunData) -> list[Part]:
    h = [u for u in run.history if "mean_reward" in u]
    if h:
        xs = [u.get("completions", k + 1) for k, u in enumerate(h)]
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.2))
        a1.plot(xs, [u["mean_reward"] for u in h], marker=".", color="#4c72b0", label="mean reward of the update's batch")
        if all("baseline" in u for u in h):
            a1.plot(xs, [u["baseline"] for u in h], color="#8c8c8c", lw=1, label="baseline (after the update)")
        a2.plot(xs, [u.get("entropy", math.nan) for u in h], marker=".", color="#55a868")
        _label(a1, a2, "completions learnt", "policy entropy (nats per architecture)")
        return [_text(f"{len(h)} updates of the {run.searcher} controller."), _figure(fig)]
    # No saved per-update statistics (a state from before they were kept, or a searcher without a
    # policy): the trials still record each proposal's entropy and reward.
    entropy = [(r.number, _float(r.values.get("entropy"))) for r in run.rows]
    entropy = [(n, e) for n, e in entropy if e == e and e > 0]
    if not entropy:
        kind = SEARCHER_KINDS.get(run.searcher) if run.searcher in SEARCHER_KINDS else None
        why = "it keeps no policy" if kind is not None and not kind.policy else "no update has happened yet"
        return [_text(f"No per-update statistics for searcher {run.searcher}: {why}.", empty=True)]
    window = 8
    rewards = [r.reward for r in run.rows]
    means = []
    for k in range(len(rewards)):
        chunk = rewards[max(0, k - window + 1) : k + 1]
        means.append((k + 1, sum(chunk) / len(chunk)))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.2))
    a1.plot(*zip(*means), color="#4c72b0", label=f"mean reward of the last {window} trials")
    a2.scatter(*columns(entropy), s=8, color="#55a868")
    _label(a1, a2, "trial (completion order)", "entropy of the proposal (nats)")
    return [_text("Per trial, from trials.csv (this run's searcher state keeps no per-update statistics)."), _figure(fig)]


def _label(a1: Any, a2: Any, xlabel: str, entropy_label: str) -> None:
    a1.set_xlabel(xlabel)
    a1.set_ylabel("reward")
    a1.legend(fontsize=8, frameon=False)
    a2.set_xlabel(xlabel)
    a2.set_ylabel(entropy_label)


def _finalize(result: dict[str, Any]) -> list[Part]:
    """The fresh-seed table and the pick's verdicts of `spinenas finalize`."""
    from nas.reporting.finalize import verdict_lines

    number = lambda a, k, fmt: "-" if a.get(k) is None else format(a[k], fmt)  # noqa: E731
    rows = [
        [a["name"] + (" (pick)" if a["name"] == result.get("pick") else ""), a["kind"], number(a, "search_reward", ".4f"), number(a, "mean", ".4f"),
         number(a, "std", ".4f"), a["n"], "" if a.get("shrinkage") is None else format(a["shrinkage"], "+.4f")]
        for a in result.get("archs", [])
    ]  # fmt: skip
    seeds = ", ".join(map(str, result.get("seeds", [])))
    note = f"Fresh seeds {seeds} (the search trained with seed {result.get('search_seed')}); pick: {result.get('pick_rule', '')}."
    head = ["architecture", "kind", "search reward", "fresh mean", "std", "n", "shrinkage"]
    return [_text(note), _table(head, rows, cls="failed"), {"kind": "list", "lines": [line.strip() for line in verdict_lines(result)]}]


def _trial_table(rows: Sequence[Row]) -> list[Part]:
    if not rows:
        return [_text("No trial has finished yet.", empty=True)]
    head = [{"text": h, "kind": "text" if kind == "text" else "num"} for _, h, kind in TABLE]
    body = [[_cell(r.values.get(col), kind) for col, _, kind in TABLE] for r in rows]
    return [_table(head, body, id="trials", cls="sortable", row_cls=[r.status for r in rows])]


def _cell(value: Any, kind: str) -> dict[str, Any]:
    text = "" if value is None else str(value)
    if kind == "text" or text == "":
        return {"text": text}
    x = _float(text)
    shown = {"int": f"{x:.0f}", "f4": f"{x:.4f}", "f1": f"{x:.1f}", "mega": f"{x / 1e6:.2f}"}[kind]
    return {"text": shown, "value": repr(x)}


def _failed(rows: Sequence[Row]) -> list[Part]:
    bad = [r for r in rows if r.status == TrialStatus.FAILED]
    if not bad:
        return [_text("None.", empty=True)]
    body = [[r.number, r.trial_id, r.values.get("node", ""), {"text": str(r.values.get("error", "")), "code": True}] for r in bad]
    return [_table(["#", "trial", "node", "error"], body, cls="failed")]


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _proxy_label(proxy: dict[str, Any]) -> str:
    """The proxy's own name in a run's config.yaml: `label`; folders written before 2026-12-07 kept
    it in `name` (a legacy reader: `name` is the evaluator kind now)."""
    return str(proxy.get("label") or proxy.get("name", "?"))
