"""Is an untrained controller a uniform sampler? Its first proposals against `SearchSpace.sample`.

Random search draws with `SearchSpace.sample` (each decision uniform among those the space allows);
REINFORCE starts from a controller whose logits are near zero, so its first proposals are often
taken for the same distribution. This compares the two on the feature that ranks the benchmark
table best, P3's route (the coarsest level on the finest path from the stem to the P3 output,
relative to P3: `search_space.structure`; Kendall tau -0.76 with the table's AP), and on the mean
table AP of architectures with that route. If they differ, the first trials of a REINFORCE search
are better (or worse) than random search's before it has learnt anything, and a REINFORCE-vs-random
gap is not all learning.

Run: .venv/bin/python benchmarks/proposal_distribution.py --n 1000 --out benchmarks/runs/proposal-distribution-2026-12-07
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from nas.searchers import make_searcher, searcher_options
from nas.settings.schemas import compose
from predictor_curve import SPACE, load_rows
from search_space.structure import STRUCTURE_NAMES, structural_features

ROUTE = STRUCTURE_NAMES.index("P3.route")


def routes(archs: list) -> np.ndarray:
    return np.array([structural_features(a)[ROUTE] for a in archs])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="proposals per controller seed and uniform draws per seed")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--table", type=Path, default=Path("benchmarks/table"))
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    archs, table_ap, _ = load_rows(args.table, SPACE)
    table_routes = routes(archs)
    ap_by_route = {int(r): float(table_ap[table_routes == r].mean()) for r in np.unique(table_routes)}
    opts = OmegaConf.to_container(compose("search", ["searcher=reinforce"]).searcher)
    opts.pop("name")
    samples: dict[str, np.ndarray] = {}
    for seed in range(args.seeds):
        controller = make_searcher(searcher_options("reinforce", opts), SPACE, seed=seed, dedup=False)
        samples[f"untrained controller, seed {seed}"] = routes([SPACE.decode(controller.propose().actions) for _ in range(args.n)])
        rng = np.random.default_rng(20_000 + seed)
        samples[f"SearchSpace.sample, seed {20_000 + seed}"] = routes([SPACE.sample(rng) for _ in range(args.n)])
    values = sorted(ap_by_route)
    lines = [f"P3 route (levels above P3 that every path from the stem passes) of {args.n} proposals each; the table's mean AP per route: "
             + ", ".join(f"{r}: {ap_by_route[r]:.3f} ({int((table_routes == r).sum())} archs)" for r in values), "",
             "| sampler | " + " | ".join(f"route {r}" for r in values) + " | expected table AP |", "|---|" + "---|" * (len(values) + 1)]  # fmt: skip
    result = {"n": args.n, "ap_by_route": ap_by_route, "samplers": {}}
    for name, r in samples.items():
        shares = {v: float(np.mean(r == v)) for v in values}
        expected = sum(shares[v] * ap_by_route[v] for v in values)
        result["samplers"][name] = {"shares": shares, "expected_table_ap": expected}
        lines.append(f"| {name} | " + " | ".join(f"{shares[v]:.3f}" for v in values) + f" | {expected:.4f} |")
    text = "\n".join(lines)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "distribution.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "output.txt").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
