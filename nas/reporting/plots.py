"""The plots of run folders, in the house style (open axes), written atomically as PNG."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from nas.core.status import FINISHED, TrialStatus  # noqa: E402
from nas.reporting.run_folder import Row  # noqa: E402
from search_space.fileio import atomic_write_bytes  # noqa: E402



def columns(points: Sequence[tuple[float, float]]) -> tuple[list[float], list[float]]:
    """(xs, ys) of (x, y) points, for `scatter`."""
    return [p[0] for p in points], [p[1] for p in points]

def progress_figure(rows: Sequence[Row], title: str) -> Any:
    """A figure of the reward per trial (stopped and failed trials marked) and the best so far."""
    fig, ax = plt.subplots(figsize=(7, 3.6))
    xs = [r.number for r in rows]
    ok = [(r.number, r.reward) for r in rows if r.status in FINISHED]
    stopped = [(r.number, r.reward) for r in rows if r.status == TrialStatus.STOPPED]
    bad = [(r.number, r.reward) for r in rows if r.status == TrialStatus.FAILED]
    best, running = [], -math.inf
    for r in rows:
        if r.status in FINISHED:
            running = max(running, r.reward)
        best.append(running if running > -math.inf else float("nan"))
    if ok:
        ax.scatter(*columns(ok), s=12, label="trial reward", color="#4c72b0")
    if stopped:
        ax.scatter(*columns(stopped), s=14, marker="v", label="stopped early (rung reward)", color="#8c8c8c")
    if bad:
        ax.scatter(*columns(bad), s=18, marker="x", label="failed", color="#c44e52")
    if xs:
        ax.step(xs, best, where="post", color="#dd8452", label="best so far")
        ax.legend(fontsize=8, frameon=False)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # trials are counted, not measured: no "trial 1.5"
    ax.set_xlabel("trial (completion order)")
    ax.set_ylabel("reward")
    ax.set_title(title)
    return fig


def save_figure(fig: Any, path: Path) -> None:
    """Write a matplotlib figure as a PNG atomically (no half-written image), open axes' top and
    right spines hidden, and close it."""
    open_axes(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def anytime_axes(ax: Any, x: Sequence[float], curves: dict[str, dict[str, Sequence[float]]], xlabel: str, ylabel: str) -> None:
    """Draw each method's mean best-so-far (`nas.core.search_compare.anytime`: mean, low, high) on
    `ax` against `x`, with its interval shaded, and label the axes."""
    for name, a in curves.items():
        ax.plot(x, a["mean"], label=name)
        ax.fill_between(x, a["low"], a["high"], alpha=0.2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)


def open_axes(fig: Any) -> None:
    """Hide the top and right spines of every axes of `fig` (the house style of our plots)."""
    for ax in fig.axes:
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)




def front_figure(points: Sequence[tuple[float, float]], metric: str, ref: float, title: str, cost: str = "latency (ms)") -> Any:
    """Finished trials as (cost, metric) points, the front as a staircase and the hypervolume's
    area shaded up to the reference cost (`cost`: the x axis's label)."""
    from nas.core.pareto import hypervolume, pareto_front

    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.scatter(*columns(points), s=12, color="#4c72b0", alpha=0.7, label="trial")
    front = pareto_front([p for p in points if p[0] < ref])
    if front:
        xs = [c for c, _ in front] + [ref]
        ys = [v for _, v in front] + [front[-1][1]]
        ax.fill_between(xs, ys, step="post", color="#dd8452", alpha=0.15, label=f"hypervolume {hypervolume(points, ref):.4g}")
        ax.step(xs, ys, where="post", color="#dd8452", label=f"front ({len(front)})")
        ax.scatter(*columns(front), s=24, color="#dd8452")
    ax.axvline(ref, color="#8c8c8c", lw=0.8, ls=":")
    ax.set_xlabel(cost + (", full-size model on the target device" if cost.startswith("latency") else ""))
    ax.set_ylabel(metric)
    ax.set_title(title)
    ax.legend(fontsize=8, frameon=False)
    return fig
