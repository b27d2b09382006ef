"""Params and FLOPs of every catalog model at its published input size, with the paper's numbers.

Run: .venv/bin/python benchmarks/catalog_cost.py  (prints a Markdown table; also times the count)
"""

from __future__ import annotations

import time

from search_space import get_architecture, get_preset, list_architectures, measure

PAPER = {  # Du et al. 2020, Table 3 (RetinaNet): params M, FLOPs B
    "spinenet49s": (12.0, 33.8),
    "spinenet49": (28.5, 85.4),
    "spinenet96": (43.0, 265.4),
    "spinenet143": (66.9, 524.4),
    "spinenet190": (163.6, 1885.0),
    "resnet50_fpn": (34.0, 96.8),
}


def main() -> None:
    print("| model | input | backbone params | backbone FLOPs | + head params | + head FLOPs | paper (params, FLOPs) | count time |")
    print("|---|---|---|---|---|---|---|---|")
    for name in list_architectures():
        arch, preset = get_architecture(name), get_preset(name)
        t = time.perf_counter()
        bb = measure(arch, preset)
        full = measure(arch, preset, with_head=True)
        dt = time.perf_counter() - t
        paper = "%.1fM, %.1fB" % PAPER[name] if name in PAPER else "not published"
        print(
            f"| {name} | {preset.image_size} | {bb.params / 1e6:.2f}M | {bb.flops / 1e9:.2f}B | "
            f"{full.params / 1e6:.2f}M | {full.flops / 1e9:.2f}B | {paper} | {dt:.1f}s |"
        )


if __name__ == "__main__":
    main()
