"""A finalize run's folder (finalize.csv) and what is made of it: finalize.json, the printed table,
finalize.png and the report section."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from nas.core.stats import ALPHA, CLEAR_GAP, VERDICT_RULE, chance_of_verdict, compare_all, summary
from nas.core.status import TrialStatus
from nas.reporting.planned_folder import SELECT, PlannedFolder, with_keys
from nas.reporting.plots import save_figure
from nas.reporting.run_folder import Row, number, ok_frame

SEED_BASELINE = "resnet50_fpn"  # the architecture the paper's search starts from
TIE_RULE = "the highest mean on the selection seeds; ties: the higher search reward, then the earlier trial"


class FinalizeFolder(PlannedFolder):
    """finalize.csv: a row per finished (architecture, fresh seed) run, read back on resume."""

    CSV = "finalize.csv"

    def done(self) -> set[tuple[str, str]]:
        """The runs with an ok row: a failed run is trained again on resume."""
        return {(r.values["arch_id"], r.values["run"]) for r in self.rows if r.status == TrialStatus.OK}


def summarize_finalize(
    rows: Sequence[Row], candidates: Sequence[Any], baselines: Sequence[Any], searched: dict[str, tuple[float, int]], header: dict[str, Any], pick: str | None
) -> dict[str, Any]:
    """finalize.json: per architecture its selection and confirmation scores and their summary (with
    the search's reward and the shrinkage for candidates), the pick (chosen on the selection runs)
    against every baseline on the confirmation runs only, and the rules applied.
    `searched` maps a candidate's arch id to (its search reward, its trial number)."""
    ok = ok_frame(rows, extra=("flops", "params"))
    chosen_on = with_keys(ok)["role"] == SELECT  # selection runs (select0, ...); confirmation runs are seed0, ...
    selected = ok[chosen_on].groupby("arch_id", sort=False)["reward"].agg(list).to_dict()
    fresh = ok[~chosen_on].groupby("arch_id", sort=False)["reward"].agg(list).to_dict()
    cost = {a: {"flops": number(g["flops"].iloc[0]), "params": number(g["params"].iloc[0])} for a, g in ok.groupby("arch_id", sort=False)}
    archs = [_arch_record(c, selected.get(c.arch.id, []), fresh.get(c.arch.id, []), cost.get(c.arch.id, {}), searched.get(c.arch.id)) for c in [*candidates, *baselines]]
    chosen = next((c for c in candidates if c.name == pick), None)
    comparisons = []
    if chosen:
        tested = compare_all(fresh.get(chosen.arch.id, []), {b.name: fresh.get(b.arch.id, []) for b in baselines})
        comparisons = [{"candidate": chosen.name, "baseline": name, **c} for name, c in tested.items()]
    n_pick = len(fresh.get(chosen.arch.id, [])) if chosen else 0
    n_base = min((len(fresh.get(b.arch.id, [])) for b in baselines), default=0)
    chance = chance_of_verdict(n_pick, n_base, len(baselines)) if n_pick >= 2 and n_base >= 2 and baselines else None
    return {
        **header,
        "runs": len(rows),
        "failed": sum(r.status != TrialStatus.OK for r in rows),
        "archs": archs,
        "comparisons": comparisons,
        "pick": pick,
        "pick_rule": TIE_RULE if len(candidates) > 1 else "the only candidate (--top 1: nothing to choose)",
        "verdict_rule": VERDICT_RULE,
        "clear_gap": CLEAR_GAP,
        "chance_under_no_difference": chance,
    }


def _arch_record(c: Any, select: list[float], scores: list[float], cost: dict[str, float], searched: tuple[float, int] | None) -> dict[str, Any]:
    s = summary(scores)
    record: dict[str, Any] = {"name": c.name, "kind": c.kind, "arch_id": c.arch.id, **s, "fresh": scores, **cost}
    record["select"], record["select_mean"] = select, summary(select)["mean"]
    record["search_reward"], record["search_trial"] = searched if searched else (None, None)
    unbiased = s["mean"] if s["mean"] is not None else record["select_mean"]
    record["shrinkage"] = searched[0] - unbiased if searched and unbiased is not None else None
    return record


def verdict_lines(result: dict[str, Any]) -> list[str]:
    """The pick against each baseline, and a plain sentence when it does not clearly beat the seed."""
    pick = result["pick"]
    if pick is None:
        return ["no candidate finished a fresh-seed run: nothing to pick"]
    lines = []
    for c in (c for c in result["comparisons"] if c["candidate"] == pick):
        if c["gap"] is None:
            lines.append(f"  vs {c['baseline']}: {c['verdict']}")
            continue
        worse = c["difference"] < 0 and c.get("p_worse") is not None  # below the baseline: the p of that question
        one, holm = (c.get("p_worse"), c.get("p_worse_holm")) if worse else (c.get("p_one_sided"), c.get("p_holm"))
        question = "worse" if worse else "better"
        lines.append(
            f"  vs {c['baseline']}: {c['difference']:+.4f}, {c['gap']:+.1f} seed std, one-sided Welch p of '{question}' "
            f"{'n/a' if one is None else f'{one:.3g}'} (Holm-adjusted {'n/a' if holm is None else f'{holm:.3g}'}): {c['verdict']}"
        )
    seed = next((c for c in result["comparisons"] if c["candidate"] == pick and c["baseline"] == SEED_BASELINE), None)
    if seed is not None and seed["verdict"] != "better":
        lines.append(
            f"The pick does not beat the {SEED_BASELINE} seed by more than {CLEAR_GAP:g} seed std with a Holm-adjusted one-sided p < {ALPHA:g} on "
            "the confirmation seeds: on this proxy, the search's answer is not clearly better than where it started."
        )
    chance = result.get("chance_under_no_difference")
    if chance:
        lines.append(
            f"  when nothing differs, this rule at these seeds says 'better' against a given baseline in {chance['better_vs_first']:.1%} of finalizes, "
            f"against any baseline in {chance['better_vs_any']:.1%}, and gives some verdict in {chance['any_verdict']:.1%} ({chance['draws']} simulated)"
        )
    lines.append(f"  rule: {result.get('verdict_rule', VERDICT_RULE)}")
    return lines


def format_finalize(result: dict[str, Any], out_dir: Path) -> str:
    """The table `spinenas finalize` prints."""
    select = result.get("select_seeds", [])
    chose = f"selection seeds {', '.join(map(str, select))} chose the pick; " if select else ""
    lines = [
        f"finalize of {result['run']}: {result['candidates']} candidates and {len(result['baselines'])} baselines, proxy {result['proxy']} "
        f"({result['runs']} runs, {result['failed']} failed)",
        f"seeds: {chose}confirmation seeds {', '.join(map(str, result['seeds']))} tested it against the baselines "
        f"(the search trained with seed {result['search_seed']})",
        *[f"warning: {w}" for w in result.get("warnings", [])],
        "",
        f"{'arch':<16} {'kind':<10} {'FLOPs':>6} {'params':>7}  {'search':>7}  {'selection':>9}  {'confirmation ' + result['metric'] + ' mean +- std (n)':<34} shrinkage",
    ]
    for a in result["archs"]:
        search = "-" if a["search_reward"] is None else f"{a['search_reward']:.4f}"
        chosen = "-" if a.get("select_mean") is None else f"{a['select_mean']:.4f}"
        mean = "-" if a["mean"] is None else f"{a['mean']:.4f}" + ("" if a["std"] is None else f" +- {a['std']:.4f}") + f" ({a['n']})"
        shrink = "" if a["shrinkage"] is None else f"{a['shrinkage']:+.4f}"
        flops, params = a.get("flops", 0) / 1e6, a.get("params", 0) / 1e6
        lines.append(f"{a['name']:<16} {a['kind']:<10} {flops:>5.0f}M {params:>6.2f}M  {search:>7}  {chosen:>9}  {mean:<34} {shrink}")
    lines += ["", f"pick: {result['pick']} ({result['pick_rule']})", *verdict_lines(result)]
    lines += ["", *[f"  {out_dir / name}" for name in ("finalize.csv", "finalize.json", "final.yaml", "finalize.png")]]
    lines += [f"  {s['spec']}: {s['preset']} at {s['image_size']} px, {s['params'] / 1e6:.1f}M params, {s['flops'] / 1e9:.1f}B FLOPs (with head)" for s in result.get("scaled", [])]
    return "\n".join(lines)


def plot_finalize(result: dict[str, Any], path: Path) -> None:
    """Fresh-seed mean +- std per architecture (each seed a dot), baselines in their own colour, the
    seed baseline's mean as a line."""
    import matplotlib.pyplot as plt

    archs = [a for a in result["archs"] if a["mean"] is not None or a.get("select")]
    fig, ax = plt.subplots(figsize=(1.2 * len(archs) + 2.5, 3.8))
    for x, a in enumerate(archs):
        colour = "#4c72b0" if a["kind"] == "candidate" else "#dd8452"
        if a["mean"] is not None:
            ax.errorbar([x], [a["mean"]], yerr=[a["std"] or 0.0], fmt="o", ms=6, capsize=4, color=colour)
            ax.scatter([x] * len(a["fresh"]), a["fresh"], s=10, color=colour, alpha=0.5)
        ax.scatter([x] * len(a.get("select", [])), a.get("select", []), s=14, marker="x", color="#8c8c8c")
        if a["search_reward"] is not None:
            ax.scatter([x], [a["search_reward"]], marker="_", s=200, color="#8c8c8c")
        if a["name"] == SEED_BASELINE and a["mean"] is not None:
            ax.axhline(a["mean"], color=colour, lw=1, ls="--")
    ax.set_xticks(range(len(archs)), [a["name"] + (" *" if a["name"] == result["pick"] else "") for a in archs], rotation=20, fontsize=8)
    ax.set_ylabel(f"{result['metric']} on fresh seeds (mean +- std)")
    ax.set_title("confirmation runs: candidates (blue), baselines (orange); grey: search reward (-), selection runs (x); * the pick", fontsize=8)
    save_figure(fig, path)
