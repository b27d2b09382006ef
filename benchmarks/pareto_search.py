"""Does the Pareto search find a better accuracy-latency front than random search at equal budget?

Runs `spinenas search reward=pareto` (the real trial code on a local Ray) with searcher=pareto and
searcher=random for each seed, the same trials and the same hypervolume reference, and compares
the fronts' hypervolumes at the end and half-way (Mann-Whitney U over seeds, scipy.stats). The
latency is the search's own (`latency` group: the table predicted on this machine). Each search
keeps its folder under --out; a folder that holds all its trials is read back, not run again.

Run (surrogate):      .venv/bin/python benchmarks/pareto_search.py proxy=surrogate --trials 100 --seeds 0 1 2 3 4 --ref-ms 2600
Run (built-in proxy): .venv/bin/python benchmarks/pareto_search.py --trials 8 --seeds 0 --ref-ms 2600 searcher.population=4
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from scipy import stats

from nas.commands.search import run_search
from nas.core.pareto import hypervolume
from nas.reporting.pareto import FrontSettings, points
from nas.reporting.trials import SearchFolder


def run(searcher: str, seed: int, trials: int, ref_ms: float, out: Path, extra: list[str]) -> list[tuple[float, float]]:
    """The search's finished (latency, AP) points in completion order."""
    folder = out / f"{searcher}-seed{seed}"
    rows = SearchFolder(folder).read_rows()
    if len(rows) < trials:
        resume = ["resume=true"] if rows else []
        opts = [o for o in extra if not o.startswith("searcher.")] if searcher == "random" else extra
        run_search(["reward=pareto", f"reward.ref_ms={ref_ms}", f"searcher={searcher}", f"seed={seed}", f"trials={trials}", f"out_dir={folder}", *resume, *opts])
        rows = SearchFolder(folder).read_rows()
    return [p for _, p in points(rows, FrontSettings().metric)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("overrides", nargs="*", help="search overrides shared by every run (searcher.* go to the Pareto searcher only)")
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--ref-ms", type=float, required=True, help="the hypervolume's reference latency (the same for every search)")
    ap.add_argument("--out", type=Path, default=Path("results/pareto-vs-random"))
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    hv: dict[str, dict[str, list[float]]] = {}
    for seed in args.seeds:
        for searcher in ("pareto", "random"):
            pts = run(searcher, seed, args.trials, args.ref_ms, args.out, args.overrides)
            half = hypervolume(pts[: len(pts) // 2], args.ref_ms)
            end = hypervolume(pts, args.ref_ms)
            hv.setdefault(searcher, {"half": [], "end": []})
            hv[searcher]["half"].append(half)
            hv[searcher]["end"].append(end)
            print(f"seed {seed} {searcher:>6}: {len(pts)} finished, hypervolume {half:.2f} half-way, {end:.2f} at the end", flush=True)
    print(f"\n| searcher | hypervolume half-way (mean +- std) | at {args.trials} trials (mean +- std) |")
    print("|---|---|---|")
    for searcher, v in hv.items():
        sd = lambda xs: statistics.stdev(xs) if len(xs) > 1 else 0.0  # noqa: E731
        print(f"| {searcher} | {statistics.mean(v['half']):.2f} +- {sd(v['half']):.2f} | {statistics.mean(v['end']):.2f} +- {sd(v['end']):.2f} |")
    summary = {"trials": args.trials, "seeds": args.seeds, "ref_ms": args.ref_ms, "overrides": args.overrides, "hypervolume": hv}
    if len(args.seeds) > 1:
        for when in ("half", "end"):
            test = stats.mannwhitneyu(hv["pareto"][when], hv["random"][when], alternative="greater")
            summary[f"mannwhitney_{when}_p"] = float(test.pvalue)
            print(f"Mann-Whitney U, pareto > random ({when}): p = {test.pvalue:.4f}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
