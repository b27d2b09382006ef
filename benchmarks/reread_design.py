"""Re-read a finished `spinenas proxy-design` folder with this version's code: every run is in
runs.csv, so nothing is trained (a missing run stops the script, where `spinenas proxy-design
... resume=true` would train it) and no Ray cluster is started; design.json, design.png and the
proxy file are rewritten and the report printed. Used when the code that judges a design changes
after the design ran (e.g. intervals on its taus).

    python benchmarks/reread_design.py OUT_DIR proxy=custom proxy.data.format=voc ... --budget-s 120 [--reference-from DIR]
"""

from __future__ import annotations

import argparse

import nas.runner.campaign as campaign
from nas.commands.proxy_design import DesignOptions, format_design, run_proxy_design


def _no_training(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
    raise SystemExit("a planned run is missing from runs.csv: this re-read trains nothing (resume the design instead)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out_dir")
    p.add_argument("--budget-s", type=float, required=True)
    p.add_argument("--reference-from")
    p.add_argument("overrides", nargs="*", help="the design's own key=value overrides (proxy=..., proxy.data.*)")
    a = p.parse_args()
    campaign.run_trials = _no_training  # a resume with nothing left to train starts no cluster (Campaign.open)
    outcome = run_proxy_design([*a.overrides, f"out_dir={a.out_dir}", "resume=true"], DesignOptions(budget_s=a.budget_s, reference_from=a.reference_from))
    print(format_design(outcome.design, outcome.out_dir))


if __name__ == "__main__":
    main()
