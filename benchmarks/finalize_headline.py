"""The headline experiment of `spinenas finalize`: does a REINFORCE search's final beat a random
search's final, and the ResNet-50-FPN seed, on fresh seeds?

Runs (or reads back) one search per searcher with the same budget and seed on the built-in proxy,
finalizes each (the top 3 distinct architectures, 3 fresh seeds each; the baselines, R50-FPN and
SpineNet-49, only in the first search's finalize: the searches share the proxy and the search seed,
so the fresh seeds are the same and a baseline's runs would be the same trainings), and prints a
Markdown table: per search its best search reward, its pick, the pick's fresh mean and
std, the shrinkage (search reward minus fresh mean), and the pick against the seed baseline and
against the other search's pick (difference, gap in seed std, Welch's p). A search or
finalize whose folder is complete is read back, not run again; an interrupted one is resumed.

Run: .venv/bin/python benchmarks/finalize_headline.py --trials 32 --out results/headline
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from nas.commands.finalize import FinalizeOptions, run_finalize
from nas.commands.search import run_search
from nas.core.stats import compare
from nas.reporting.trials import SearchFolder


def search(searcher: str, trials: int, out: Path, extra: list[str]) -> Path:
    folder = out / f"search-{searcher}"
    done = len(SearchFolder(folder).read_rows())
    if done < trials:
        resume = ["resume=true"] if (folder / "config.yaml").exists() else []
        run_search([f"searcher={searcher}", f"trials={trials}", "max_concurrent=1", f"out_dir={folder}", *resume, *extra])
    return folder


def finalize(run: Path, options: FinalizeOptions) -> dict:
    path = run / "finalize" / "finalize.json"
    if path.exists():
        return json.loads(path.read_text())
    resume = ["resume=true"] if (run / "finalize" / "config.yaml").exists() else []
    return run_finalize(run, resume, options).result


def fresh(results: dict[str, dict], name: str) -> list[float]:
    """The fresh scores of architecture `name` in whichever finalize trained it."""
    return next(a["fresh"] for r in results.values() for a in r["archs"] if a["name"] == name)


def table(results: dict[str, dict], searches: dict[str, Path]) -> str:
    lines = [
        "| search | best search reward | pick | pick's search reward | fresh mean +- std (n) | shrinkage | vs R50-FPN seed | vs the other search's pick | wall (search + finalize) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    names = list(results)
    for name in names:
        r = results[name]
        pick = next(a for a in r["archs"] if a["name"] == r["pick"])
        best = max(row.reward for row in SearchFolder(searches[name]).read_rows())
        seed = compare(pick["fresh"], fresh(results, "resnet50_fpn"))
        other = [o for o in names if o != name][0]
        vs = compare(pick["fresh"], fresh({other: results[other]}, results[other]["pick"]))
        wall = json.loads((searches[name] / "summary.json").read_text())["session_s"]
        fin = sum(float(x) for x in _column(searches[name] / "finalize" / "finalize.csv", "wall_s"))
        lines.append(
            f"| {name} | {best:.4f} | {r['pick']} ({pick['arch_id']}) | {pick['search_reward']:.4f} | {pick['mean']:.4f} +- {pick['std']:.4f} ({pick['n']}) "
            f"| {pick['shrinkage']:+.4f} | {_cmp(seed)} | {_cmp(vs)} | {wall / 60:.0f} min + {fin / 60:.0f} trial-min |"
        )
    return "\n".join(lines)


def _cmp(c: dict) -> str:
    if c["gap"] is None:
        return c["verdict"]
    return f"{c['difference']:+.4f} ({c['gap']:+.1f} std, p {c['p_value']:.2g}): {c['verdict']}"


def _column(path: Path, key: str) -> list[str]:
    import csv

    return [row[key] for row in csv.DictReader(path.open())] if path.exists() else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=32)
    parser.add_argument("--out", type=Path, default=Path("results/headline"))
    parser.add_argument("--searchers", nargs="+", default=["reinforce", "random"])
    parser.add_argument("extra", nargs="*", help="more search overrides (the default: the built-in proxy)")
    args = parser.parse_args()
    searches = {s: search(s, args.trials, args.out, args.extra) for s in args.searchers}
    first = args.searchers[0]
    results = {s: finalize(run, FinalizeOptions() if s == first else FinalizeOptions(baselines=())) for s, run in searches.items()}
    print(table(results, searches))


if __name__ == "__main__":
    main()
