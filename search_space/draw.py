"""Architecture diagrams in the style of the paper's figures (PNG, SVG or PDF by suffix).

x is the order in which blocks are built, y is the level (feature resolution); squares are
bottleneck blocks, circles residual blocks, colour encodes the level; thick outlines mark the
outputs P3..P7. Parent edges are drawn as arcs; dashed edges are the official "out-degree 0"
folds into the output block of the same shape.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402

from search_space.errors import InputError
from search_space.fileio import atomic_write_bytes  # noqa: E402
from search_space.spec import Architecture  # noqa: E402

LEVEL_COLOURS = {2: "#4c72b0", 3: "#55a868", 4: "#c44e52", 5: "#8172b2", 6: "#ccb974", 7: "#64b5cd"}
FORMATS = (".png", ".svg", ".pdf")


def draw_architecture(arch: Architecture, path: str | os.PathLike[str], title: str | None = None) -> Path:
    """Render `arch` to `path` (format from the suffix), written atomically."""
    path = Path(path)
    fmt = path.suffix.lower()
    if fmt not in FORMATS:
        raise InputError(f"{path}: unknown image format {fmt!r}; use {', '.join(FORMATS)}")
    fig = render(arch, title)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt[1:], dpi=150, bbox_inches="tight")
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return path


def render(arch: Architecture, title: str | None = None) -> plt.Figure:
    """A matplotlib figure of `arch`."""
    n = arch.num_stem + len(arch.blocks)
    xs = list(range(n))
    levels = [arch.node_level(j) for j in range(n)]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.55 * n + 2), 4.2))
    if arch.decoder == "fpn":
        _draw_fpn(ax, arch)
    else:
        for i, b in enumerate(arch.blocks):
            node = arch.num_stem + i
            for p in b.parents:
                _edge(ax, (xs[p], levels[p]), (xs[node], levels[node]), "#555555", "-")
        for i, folded in enumerate(arch.output_folds()):
            node = arch.num_stem + i
            for j in folded:
                _edge(ax, (xs[j], levels[j]), (xs[node], levels[node]), "#999999", "--")
    outputs = {arch.num_stem + i for i, b in enumerate(arch.blocks) if b.is_output}
    for j in range(n):
        stem = j < arch.num_stem
        fn = arch.node_block_fn(j)
        ax.scatter(
            xs[j],
            levels[j],
            s=320,
            marker="s" if fn == "bottleneck" else "o",
            c="#dddddd" if stem else LEVEL_COLOURS[levels[j]],
            edgecolors="black",
            linewidths=2.8 if j in outputs else 0.8,
            zorder=3,
        )
        label = f"P{levels[j]}" if j in outputs else ("S" if stem else str(j - arch.num_stem))
        ax.annotate(label, (xs[j], levels[j]), ha="center", va="center", fontsize=7, zorder=4)
    ax.set_yticks(range(2, 8))
    ax.set_yticklabels([f"L{lv}" for lv in range(2, 8)])
    ax.set_ylim(1.3, 7.6)
    ax.set_xlim(-0.8, n - 0.2)
    ax.set_xticks(xs)
    ax.set_xticklabels([f"s{j}" if j < arch.num_stem else str(j - arch.num_stem) for j in xs], fontsize=7)
    ax.set_xlabel("block order (s = stem candidate)")
    ax.set_ylabel("level (stride 2^level)")
    ax.axvspan(-0.8, arch.num_stem - 0.5, color="#f2f2f2", zorder=0)
    ax.scatter([], [], marker="s", c="white", edgecolors="black", label="bottleneck")
    ax.scatter([], [], marker="o", c="white", edgecolors="black", label="residual")
    ax.scatter([], [], marker="s", c="white", edgecolors="black", linewidths=2.8, label="output")
    ax.legend(loc="upper left", fontsize=7, frameon=False, ncol=3)
    ax.set_title(title or f"{arch.name}  (id {arch.id})", fontsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig


def _edge(ax: plt.Axes, a: tuple[float, float], b: tuple[float, float], colour: str, style: str) -> None:
    span = max(1.0, abs(b[0] - a[0]) / 3)
    bend = (0.25 if b[1] >= a[1] else -0.25) / span  # long edges bow less and stay inside the plot
    ax.add_patch(
        FancyArrowPatch(
            a,
            b,
            connectionstyle=f"arc3,rad={bend}",
            arrowstyle="-|>",
            mutation_scale=8,
            color=colour,
            linestyle=style,
            linewidth=0.8,
            alpha=0.8,
            zorder=1,
        )
    )


def _draw_fpn(ax: plt.Axes, arch: Architecture) -> None:
    for j in range(1, arch.num_stem):
        _edge(ax, (j - 1, arch.node_level(j - 1)), (j, arch.node_level(j)), "#555555", "-")
    ax.text(arch.num_stem, 5, "FPN: C3..C5 -> P3..P7", fontsize=8, va="center")
