"""`spinenas proxy-design`: successive halving keeps the cheap proxies that rank, drops plateau
runs, chooses the cheapest that meets every threshold; end to end on the tiny built-in data with
a real Ray, where a few steps leave every run on the plateau, and a resume that re-runs nothing."""

import json
import math

import numpy as np
import pytest

import nas.commands.proxy_design
import nas.reporting.design_verdict
import nas.reporting.proxy_design
import nas.runner.campaign
import proxy_tasks.design
from nas.commands.proxy_design import DesignOptions, _write_proxy, larger_budget, run_proxy_design
from nas.reporting.design_verdict import design_record, survivors
from nas.reporting.planned_folder import SEED, RunKey, run_key
from nas.reporting.proxy_design import DesignFolder, candidate_summary, format_design, is_plateau
from nas.reporting.run_folder import Row
from nas.runner.planned import Candidate
from nas.settings.search import load_settings
from proxy_tasks.design import DesignRules, ProxyCandidate, StepTiming, candidates
from search_space.catalog import get_architecture
from search_space.errors import ConfigError
from search_space.space import get_space

ARCHS = [Candidate("resnet50_fpn", "catalog", get_architecture("resnet50_fpn"), 0), Candidate("spinenet49", "catalog", get_architecture("spinenet49"), 0)]
ARCHS += [Candidate(f"sample{k}", "sampled", get_space("r0_sp53").sample(np.random.default_rng(k)), 0) for k in range(3)]
assert len({a.arch.id for a in ARCHS}) == 5
TRUTH = [0.30, 0.10, 0.25, 0.20, 0.15]  # the reference's scores, in ARCHS order


def rows_for(proxy: str, seeds: list[list[float]], ap50: float = 0.5) -> list[Row]:
    return [
        Row({"arch": a.name, "arch_id": a.arch.id, "run": RunKey(SEED, k, proxy).cell, "status": "ok", "reward": v, "AP50": ap50 if v > 0.001 else 0.0, "wall_s": 10.0})
        for k, scores in enumerate(seeds)
        for a, v in zip(ARCHS, scores)
    ]


REFERENCE = [Row({"arch": a.name, "arch_id": a.arch.id, "run": "reference", "status": "ok", "reward": v, "AP50": 0.6, "wall_s": 50.0}) for a, v in zip(ARCHS, TRUTH)]


def cand(name: str, est: float) -> ProxyCandidate:
    overrides = {"image_size": 128, "epochs": 3, "batch_size": 8, "model.norm": "group", "model.anchor_size": 2.0,
                 "optim.optimizer": "adamw", "optim.lr": 0.003, "optim.warmup_steps": 6}  # fmt: skip
    return ProxyCandidate(name, overrides, 60, est)


def test_halving_keeps_cheap_rankers_and_drops_plateaus_then_chooses_the_cheapest():
    good = [[v + 0.01 * ((k + i) % 2) for i, v in enumerate(TRUTH)] for k in range(3)]  # the truth's order, small noise
    noisy = [[0.2, 0.21, 0.19, 0.2, 0.2], [0.19, 0.2, 0.21, 0.2, 0.2], [0.21, 0.19, 0.2, 0.2, 0.2]]
    plateau = [[0.3, 0.0, 0.25, 0.2, 0.15]]  # one architecture stayed on the plateau (AP50 0)
    cands = [cand("p0", 20.0), cand("p1", 30.0), cand("p2", 40.0), cand("p3", 10.0)]
    rung0 = REFERENCE + rows_for("p0", good[:1]) + rows_for("p1", good[:1]) + rows_for("p2", noisy[:1]) + rows_for("p3", plateau)
    summaries = {c.name: candidate_summary(rung0, c.name, ARCHS, 3, "AP") for c in cands}
    assert summaries["p3"]["plateau_runs"] == ["spinenet49 seed0"]
    assert summaries["p0"]["reference_kendall_tau"] == pytest.approx(1.0) and summaries["p0"]["seed_kendall_tau"] is None
    alive, cut = survivors(cands, summaries, 40.0)
    assert [c.name for c in alive] == ["p0", "p1"] and sorted(cut) == ["p2", "p3"]  # the cheapest plateau one is out
    pair, cut = survivors([cands[1], cands[0]], summaries, 40.0)
    assert [c.name for c in pair] == ["p0", "p1"] and cut == []  # of two, both go on: one seed cannot read the signal-to-noise
    alone, cut = survivors([cands[0], cands[3]], summaries, 40.0)
    assert [c.name for c in alone] == ["p0"] and cut == ["p3"]  # "at least two" never brings back a plateau

    rows = rung0 + rows_for("p0", good)[5:] + rows_for("p1", good)[5:]
    summaries = {c.name: candidate_summary(rows, c.name, ARCHS, 3, "AP") for c in cands}
    assert summaries["p0"]["seed_kendall_tau"] == pytest.approx(1.0) and summaries["p0"]["signal_to_noise"] > 3
    later, cut = survivors([cands[1], cands[0]], summaries, 40.0)
    assert [c.name for c in later] == ["p0"] and cut == ["p1"]  # with the second seed read, half again: the cheaper ranker
    options = DesignOptions(budget_s=40.0, archs=2, seeds=3)
    rules = DesignRules([128], 2.0, 8, ["rule"])
    stats = {"source": "csv test", "val": {"boxes": 500}}
    design = design_record(None, options, stats, rules, [], cands, summaries, {"p2": "stopped after rung 0", "p3": "stopped after rung 0"},
                     {"image_size": 128, "epochs": 12, "optim.lr": 0.003}, 240, 100.0, rows, 160, ARCHS)  # fmt: skip
    verdicts = {c["name"]: c["verdict"] for c in design["candidates"]}
    assert verdicts["p0"] == verdicts["p1"] == "ranks" and verdicts["p3"].startswith("plateau") and verdicts["p2"] == "stopped after rung 0"
    assert design["chosen"] == "p0"  # the cheaper of the two that rank
    text = format_design(design, DesignFolder("/nonexistent").path)
    assert "chosen: p0" in text and "seed tau 1.00" in text
    json.dumps(design, allow_nan=False, default=str)


def reference_seed1(scores: list[float]) -> list[Row]:
    return [Row({"arch": a.name, "arch_id": a.arch.id, "run": "reference.seed1", "status": "ok", "reward": v, "AP50": 0.6, "wall_s": 50.0}) for a, v in zip(ARCHS, scores)]


@pytest.mark.parametrize("ranks_itself", [True, False])
def test_no_ranking_proxy_says_what_was_reached_and_its_why_follows_the_references_own_seed_tau(ranks_itself):
    """'Longer training separates them' is said only where the reference ranks its two seeds alike;
    a reference at seed tau -0.6 (as on BCCD's first design, -0.14) cannot promise it."""
    noisy = [[0.2, 0.21, 0.19, 0.2, 0.2], [0.19, 0.2, 0.21, 0.2, 0.2], [0.21, 0.19, 0.2, 0.2, 0.2]]
    second = [v + 0.002 for v in TRUTH] if ranks_itself else [0.15, 0.30, 0.10, 0.25, 0.20]  # same order / scrambled
    rows = REFERENCE + reference_seed1(second) + rows_for("p0", noisy)
    c = cand("p0", 20.0)
    summaries = {"p0": candidate_summary(rows, "p0", ARCHS, 3, "AP")}
    design = design_record(None, DesignOptions(40.0, 2, 3), {"source": "x", "val": {"boxes": 44}}, DesignRules([128], 2.0, 8, []), [], [c], summaries, {},
                     {"image_size": 128, "epochs": 12, "optim.lr": 0.003}, 240, 100.0, rows, 160, ARCHS)  # fmt: skip
    assert design["chosen"] is None and design["best"] == "p0"
    assert design["candidates"][0]["verdict"].startswith("short of seed tau")
    text = "\n".join(design["conclusion"])
    assert "no candidate within 40 s per trial meets every threshold" in text and "closest: p0" in text
    assert "the validation split holds 44 boxes" in text
    if ranks_itself:
        assert "ranks them alike in its two seeds (tau 1.00), so longer training separates them" in text, text
    else:
        assert "does not rank them alike in its own two seeds (tau -0.60 < 0.6), so this design cannot tell whether longer training separates them" in text, text
        assert "so longer training separates them" not in text


def test_the_written_proxy_is_what_search_composes(tmp_path):
    settings = load_settings(["proxy=synthetic_tiny"])
    c = cand("p0", 20.0)
    c.overrides.update({"optim.lr": 0.006, "model.anchor_size": 3.0, "epochs": 7})
    _write_proxy(settings, c, tmp_path / "proxy.yaml", {"data": "tiny", "chosen": "p0"})
    again = load_settings([f"proxy={tmp_path / 'proxy.yaml'}"]).proxy
    assert (again.optim.lr, again.model.anchor_size, again.epochs, again.image_size, again.model.norm) == (0.006, 3.0, 7, 128, "group")
    assert again.data.synthetic == "tiny" and again.label == "design-p0" and again.name == "training"


def cap_steps(monkeypatch, steps: int) -> None:
    """Cap the candidates at `steps` training steps, whatever this machine's step time: the design
    gets its budget in seconds, and a CI-sized one must not buy more steps on a faster machine."""
    real = nas.commands.proxy_design.candidates

    def capped(rules, timings, budget_s, num_train, memory_mb=None):
        return real(rules, timings, min(budget_s, min(t.seconds(steps) for t in timings.values())), num_train, memory_mb)

    monkeypatch.setattr(nas.commands.proxy_design, "candidates", capped)


def test_end_to_end_on_tiny_data_recognises_plateau_runs_and_resumes(tmp_path, monkeypatch, ray_dir, capsys):
    monkeypatch.setattr(proxy_tasks.design, "MIN_STEPS", 3)  # a CI-sized proxy: a few steps, far from leaving the plateau
    monkeypatch.setattr(nas.commands.proxy_design, "TIMED_STEPS", 3)
    monkeypatch.setattr(proxy_tasks.design, "SIZES", (128,))  # one input size: whether 256 px fits depends on the machine's load
    cap_steps(monkeypatch, 8)  # candidates of 4 and 8 steps (half the most, and the most), at two learning rates
    out = tmp_path / "design"
    overrides = ["proxy=synthetic_tiny", "proxy.data.max_train_images=16", "proxy.data.max_val_images=8", f"out_dir={out}",
                 f"ray.temp_dir={ray_dir}", "progress_every_s=1000"]  # fmt: skip
    options = DesignOptions(budget_s=6.0, archs=2, seeds=2, reference=("epochs=1",))
    outcome = run_proxy_design(overrides, options, log=lambda _m: None)
    design = outcome.design
    rows = DesignFolder(out).read_rows()
    n_cands = len(design["candidates"])
    assert n_cands >= 2 and {c["overrides"]["image_size"] for c in design["candidates"]} == {128}
    assert [c["est_trial_s"] for c in design["candidates"]] == sorted(c["est_trial_s"] for c in design["candidates"])
    assert sum(r.values["run"] == "reference" for r in rows) == 5  # 2 samples + SpineNet-49, R50-FPN, coarsest
    assert sum(r.values["run"] == "reference.seed1" for r in rows) == 5  # the reference's second seed: its own noise is measured
    ref_seeds = {int(r.values["seed"]) for r in rows if r.values["run"].startswith("reference")}
    assert ref_seeds == {1000, 1001} and not ref_seeds & {int(r.values["seed"]) for r in rows if not r.values["run"].startswith("reference")}
    ref_steps = design["reference"]["steps"]  # one epoch (the override) of the reference's data share, at batch 4
    assert ref_steps <= 4 and all(int(r.values["steps"]) == ref_steps for r in rows if r.values["run"] == "reference")
    promoted = [c for c in design["candidates"] if c["seeds_done"] == 2]
    assert len(rows) == 2 * 5 + 5 * n_cands + 5 * len(promoted)  # rung 0: every proxy once; rung 1: the promoted ones' second seed
    assert len(promoted) <= max(2, math.ceil(n_cands / 2))
    plateaued = [c for c in design["candidates"] if c["plateau_runs"]]
    # A few steps on tiny data stay on the plateau: held against the proxies, or shared by the
    # (also short) reference and then named as the architectures' own and left out of every number.
    # Either way no proxy is chosen here: 5 architectures, and a verdict needs 5 off the plateau.
    assert plateaued or design["reference"]["plateau"]
    assert design["chosen"] is None and not (out / "proxy.yaml").exists()
    assert all(c["verdict"].startswith(("plateau", "too few architectures", "stopped", "short of")) for c in design["candidates"]), design["candidates"]
    assert all(c["seeds_done"] == 1 for c in plateaued if any(r.endswith("seed0") for r in c["plateau_runs"]))  # not measured further
    conclusion = "\n".join(design["conclusion"])
    assert ("plateau runs" in conclusion) if plateaued else ("on the plateau too" in conclusion)
    assert (out / "proxy.yaml").exists() == (design["chosen"] is not None)
    for name in ("design.json", "design.png", "runs.csv", "timing.json", "config.yaml"):
        assert (out / name).exists(), name
    # each size's timed trial records its peak memory (torch and a training: above 200 MB), which the candidates are checked against
    assert all(200 < t["peak_mb"] < 64 * 1024 for t in json.loads((out / "timing.json").read_text()).values())
    def no_cluster(*_a, **_k):
        raise AssertionError("a resume with nothing left to train started Ray")

    real_session, nas.runner.campaign.ray_session = nas.runner.campaign.ray_session, no_cluster  # re-reading a finished design needs no cluster
    try:
        again = run_proxy_design([*overrides, "resume=true"], options, log=lambda _m: None)  # nothing left to run
    finally:
        nas.runner.campaign.ray_session = real_session
    assert len(DesignFolder(out).read_rows()) == len(rows) and again.design["candidates"] == design["candidates"]

    # The choosing path, end to end: a second design (another budget, reusing the first one's
    # reference runs) whose runs are judged as ranking. A CI-sized training cannot leave the plateau,
    # so the judgment is what this part sets (every run off the plateau, every threshold met); the
    # training, halving, choice, proxy.yaml and report are the real ones.
    second = tmp_path / "second"
    overrides2 = [o if not o.startswith("out_dir=") else f"out_dir={second}" for o in overrides]
    cap_steps(monkeypatch, 3)  # 3 steps: two candidates, where the first design had four
    monkeypatch.setattr(nas.reporting.proxy_design, "is_plateau", lambda row: False)
    monkeypatch.setattr(nas.reporting.design_verdict, "met", lambda s: 1.0)
    chosen = run_proxy_design(overrides2, DesignOptions(budget_s=3.0, archs=2, seeds=2, reference_from=str(out)), log=lambda _m: None).design
    refs = {r.values["arch_id"]: r.trial_id for r in DesignFolder(second).read_rows() if r.values["run"] == "reference"}
    assert refs == {r.values["arch_id"]: r.trial_id for r in rows if r.values["run"] == "reference"}
    cands = chosen["candidates"]
    full = [c for c in cands if c["seeds_done"] == 2]
    assert len(cands) == 2 and len(full) == 2  # of two candidates both reach the second seed, where the signal-to-noise is read
    cheapest = min(full, key=lambda c: c["est_trial_s"])
    assert chosen["chosen"] == cheapest["name"] and all(c["verdict"] == "ranks" for c in full)
    assert (second / "proxy.yaml").exists() and not (second / "proxy-unverified.yaml").exists()
    proxy = load_settings([f"proxy={second / 'proxy.yaml'}"]).proxy
    assert proxy.label == f"design-{chosen['chosen']}" and proxy.image_size == cheapest["overrides"]["image_size"]
    assert (proxy.optim.lr, proxy.epochs) == (cheapest["overrides"]["optim.lr"], cheapest["overrides"]["epochs"])
    assert f"chosen: {chosen['chosen']}" in format_design(chosen, second)
    with pytest.raises(ConfigError, match="trained on other data"):
        other = [o for o in overrides2 if not o.startswith("out_dir=")] + ["proxy.data.max_val_images=4", f"out_dir={tmp_path / 'third'}"]
        run_proxy_design(other, DesignOptions(5.0, 2, 2, reference_from=str(out)))


def test_a_larger_budget_names_what_it_buys():
    rules = DesignRules([128, 256], 2.0, 8, [])
    timings = {128: StepTiming(128, 0.5, 2.0), 256: StepTiming(256, 1.0, 5.0)}  # 256 px: 55 steps in 60 s, under MIN_STEPS
    cands, _ = candidates(rules, timings, 60.0, 160)
    text = larger_budget(rules, timings, 60.0, cands, 160)
    assert "128 px trains up to 228 steps (now 114)" in text and "256 px trains up to 114 steps (does not fit now)" in text
    heavy = {**timings, 256: StepTiming(256, 1.0, 5.0, peak_mb=9000.0)}  # a size over each trial's memory share: no budget makes it fit
    assert "256 px" not in larger_budget(rules, heavy, 60.0, cands, 160, memory_mb=8000.0)


def test_plateau_runs_are_told_by_ap50_and_the_loss_curve():
    def row(ap50, start, end, status="ok"):
        return Row({"status": status, "AP50": ap50, "initial_loss": start, "final_loss": end})

    assert is_plateau(row(0.004, 1.1, 0.5))  # background only, whatever the loss did
    assert is_plateau(row(0.03, 1.1, 1.05))  # weak, and the loss barely moved
    assert not is_plateau(row(0.03, 1.1, 0.6))  # weak but learning: a poor architecture, not a plateau
    assert not is_plateau(row(0.4, 1.1, 1.05)) and not is_plateau(row("", "", "", status="failed"))


def test_a_plateau_the_reference_shares_is_the_architectures_not_the_proxys():
    reference = [Row(dict(r.values, AP50=0.001 if r.values["arch"] == "sample2" else 0.6)) for r in REFERENCE]
    scores = [[0.30, 0.10, 0.25, 0.20, 0.0005]]  # sample2 (the last) stays on the plateau under the proxy too
    summary = candidate_summary(reference + rows_for("p0", scores), "p0", ARCHS, 3, "AP")
    assert summary["plateau_runs"] == []
    summary = candidate_summary(REFERENCE + rows_for("p0", scores), "p0", ARCHS, 3, "AP")
    assert summary["plateau_runs"] == ["sample2 seed0"]


def test_verdicts_need_five_architectures_no_failed_run_and_the_budget():
    good = [[v + 0.01 * ((k + i) % 2) for i, v in enumerate(TRUTH)] for k in range(3)]
    options = DesignOptions(budget_s=40.0, archs=2, seeds=3)
    rules = DesignRules([128], 2.0, 8, ["rule"])

    def design_of(rows, cands):
        summaries = {c.name: candidate_summary(rows, c.name, ARCHS, 3, "AP") for c in cands}
        d = design_record(None, options, {"source": "x", "val": {"boxes": 500}}, rules, [], cands, summaries, {},
                    {"image_size": 128, "epochs": 12, "optim.lr": 0.003}, 240, 100.0, rows, 160, ARCHS)  # fmt: skip
        return {c["name"]: c["verdict"] for c in d["candidates"]}, d

    verdicts, _ = design_of(REFERENCE + rows_for("p0", good), [cand("p0", 20.0)])
    assert verdicts["p0"] == "ranks"  # the control: 5 architectures, 3 seeds, the truth's order
    failed = rows_for("p0", good)
    failed[7] = Row(dict(failed[7].values, status="failed", reward=float("nan")))
    verdicts, _ = design_of(REFERENCE + failed, [cand("p0", 20.0)])
    assert verdicts["p0"] == "failed runs: sample0 seed1"  # a failed run counts against the proxy (row 7: seed 1, the third architecture)
    slow = [Row(dict(r.values, wall_s=45.0)) for r in rows_for("p0", good)]
    verdicts, _ = design_of(REFERENCE + slow, [cand("p0", 20.0)])
    assert verdicts["p0"] == "over budget: 45 s per trial measured > 40 s (+10%)"
    just = [Row(dict(r.values, wall_s=43.0)) for r in rows_for("p0", good)]
    assert design_of(REFERENCE + just, [cand("p0", 20.0)])[0]["p0"] == "ranks"  # within the noise of the budget
    # Two architectures stuck on the reference's plateau are left out: 3 remain, too few for a verdict.
    stuck = [Row(dict(r.values, AP50=0.001)) if r.values["arch"] in ("sample1", "sample2") else r for r in REFERENCE]
    verdicts, d = design_of(stuck + rows_for("p0", good), [cand("p0", 20.0)])
    assert verdicts["p0"] == "too few architectures with results (3 < 5): no verdict" and d["chosen"] is None
    assert d["reference"]["plateau"] == ["sample1", "sample2"]


def test_architectures_on_the_reference_plateau_leave_the_tau_and_snr():
    """On plateau architectures both trainings agree by accident (near-zero scores): free concordant pairs."""
    scores = [[0.30, 0.10, 0.25, 0.01, 0.011], [0.29, 0.11, 0.24, 0.011, 0.01]]
    ref = [Row(dict(r.values, AP50=0.005 if r.values["arch"] in ("sample1", "sample2") else 0.6)) for r in REFERENCE]
    summary = candidate_summary(ref + rows_for("p0", scores), "p0", ARCHS, 2, "AP")
    assert summary["left_out"] == ["sample1", "sample2"] and summary["architectures_ranked"] == 3
    assert [a["name"] for a in summary["archs"]] == ["resnet50_fpn", "spinenet49", "sample0"]
    assert summary["reference_kendall_tau"] == pytest.approx(1.0)  # 0.30 > 0.25 > 0.10 in both


def test_the_reference_has_two_seeds_and_its_own_seed_tau():
    from nas.reporting.proxy_design import reference_seed_tau

    second = [Row(dict(r.values, run="reference.seed1", reward=v)) for r, v in zip(REFERENCE, [0.31, 0.11, 0.20, 0.24, 0.14])]
    # seed 0 orders 0.30 0.10 0.25 0.20 0.15; seed 1 swaps sample0 and sample1: 9 of 10 pairs agree -> tau 0.8
    assert reference_seed_tau(REFERENCE + second, ARCHS) == pytest.approx(0.8)
    summary = candidate_summary(REFERENCE + second + rows_for("p0", [TRUTH]), "p0", ARCHS, 1, "AP")
    assert summary["archs"][0]["reference"] == pytest.approx((0.30 + 0.31) / 2)  # the reference score is the mean of its seeds


def test_nothing_learns_is_said_plainly():
    options = DesignOptions(budget_s=40.0, archs=2, seeds=3)
    stuck = [Row(dict(r.values, AP50=0.004 + 0.001 * k)) for k, r in enumerate(REFERENCE)]  # every architecture, even under the reference
    rows = stuck + rows_for("p0", [[0.001] * 5] * 3, ap50=0.003)
    summaries = {"p0": candidate_summary(rows, "p0", ARCHS, 3, "AP")}
    design = design_record(None, options, {"source": "x", "val": {"boxes": 44}}, DesignRules([128], 2.0, 8, []), [], [cand("p0", 20.0)], summaries, {},
                     {"image_size": 128, "epochs": 12, "optim.lr": 0.003}, 240, 100.0, rows, 160, ARCHS, "128 px trains up to 228 steps")  # fmt: skip
    text = "\n".join(design["conclusion"])
    assert design["chosen"] is None and "nothing learns within this budget" in text
    assert "best AP50 0.008" in text and "80 s buys: 128 px trains up to 228 steps" in text


def test_reference_from_reads_a_relative_data_path_as_the_same_data_and_refuses_black_padded_runs(tmp_path, monkeypatch):
    """config.yaml keeps the data path as typed (`../data/voc`); the settings hold it absolute.
    The same data must compare equal (the BCCD design's own root is relative), other data not, and
    a design from before the mean padding is refused for that reason."""
    from omegaconf import OmegaConf

    from nas.commands.proxy_design import _prior_reference
    from tests.test_labels import write_voc

    write_voc(tmp_path / "data" / "voc")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    overrides = ["proxy=custom", "proxy.data.format=voc", "proxy.data.root=../data/voc"]
    settings = load_settings(overrides)
    earlier = tmp_path / "work" / "earlier"
    earlier.mkdir()
    OmegaConf.save(settings.record(), earlier / "config.yaml")
    (earlier / "design.json").write_text(json.dumps({"reference": {"overrides": {}, "steps": 10, "est_trial_s": 1.0}}))
    assert _prior_reference(str(earlier), settings)["steps"] == 10
    assert _prior_reference(str(earlier), load_settings([*overrides, "proxy.seed=10"]))["steps"] == 10  # candidates on other seeds than its reference's
    with pytest.raises(ConfigError, match="trained on other data"):
        _prior_reference(str(earlier), load_settings([*overrides, "proxy.data.train_split=val"]))
    record = settings.record()
    del record["pixels"]
    OmegaConf.save(record, earlier / "config.yaml")
    with pytest.raises(ConfigError, match="padded black"):
        _prior_reference(str(earlier), settings)


def three_seed_design(seeds: list[list[float]], reference_seed: int = 1000):
    reference = [Row({**r.values, "seed": reference_seed}) for r in REFERENCE]
    rows = reference + [Row({**r.values, "seed": seed_index_of(r)}) for r in rows_for("p0", seeds)]
    summaries = {"p0": candidate_summary(rows, "p0", ARCHS, 3, "AP")}
    return design_record(None, DesignOptions(40.0, 2, 3), {"source": "x", "val": {"boxes": 500}}, DesignRules([128], 2.0, 8, []), [], [cand("p0", 20.0)], summaries, {},
                   {"image_size": 128, "epochs": 12, "optim.lr": 0.003}, 240, 100.0, rows, 160, ARCHS)  # fmt: skip


def seed_index_of(row: Row) -> int:
    return run_key(row.values["run"]).seed_index


def test_a_verdict_carries_its_intervals_its_permutation_p_and_the_seed_that_chose_nothing():
    # Seeds 0 and 1 (which chose the survivors) rank as the reference does; seed 2 reverses it. The
    # mean still ranks as the reference (tau 1.0), but the held-out seed alone gives tau -1.0.
    order = [[v + 0.001 * k for v in TRUTH] for k in range(2)]
    reversed_ = [0.35 - v for v in TRUTH]
    c = three_seed_design([*order, [0.5 * (a + b) for a, b in zip(TRUTH, TRUTH)]])["candidates"][0]
    assert c["reference_kendall_tau"] == pytest.approx(1.0)
    assert c["reference_kendall_p"] == pytest.approx(1 / 120)  # 5 architectures: only the identity pairing of 5! reaches tau 1
    design = three_seed_design([*order, [v + 0.2 for v in reversed_]])
    c = design["candidates"][0]
    assert c["held_out_seeds"] == 1 and c["held_out_reference_kendall_tau"] == pytest.approx(-1.0)
    lo, hi = c["reference_kendall_tau_interval"]
    assert lo <= c["reference_kendall_tau"] <= hi and hi <= 1.0
    lo_s, hi_s = c["seed_kendall_tau_interval"]
    assert -1.0 <= lo_s <= c["seed_kendall_tau"] <= hi_s <= 1.0
    assert any(t.startswith("seed tau interval") for t in c["thin"])  # seeds disagree: its interval reaches below 0.6
    text = "\n".join(design["conclusion"])
    assert "on the 1 later seed(s), which chose nothing, its reference tau is -1.00" in text, text


def test_a_reference_sharing_seeds_with_the_candidates_is_named():
    good = [[v + 0.001 * k for v in TRUTH] for k in range(3)]
    shared = three_seed_design(good, reference_seed=0)
    assert shared["reference"]["shares_seeds_with_candidates"] == [0]
    assert "note: the reference was trained with seeds 0, which candidates use too" in "\n".join(shared["conclusion"])
    assert "(proxy.seed=1 or above)" in "\n".join(shared["conclusion"])  # the remedy: candidates on seeds past the reference's
    apart = three_seed_design(good, reference_seed=1000)
    assert apart["reference"]["shares_seeds_with_candidates"] == [] and "which candidates use too" not in "\n".join(apart["conclusion"])


def test_a_candidate_without_runs_yet_is_summarized_as_such():
    """Before a candidate's first run finishes (a resumed rung, or one not reached), its summary has
    no numbers, not an error: the run table is empty, not untyped."""
    s = candidate_summary(REFERENCE, "p7", ARCHS, 2, "AP")
    assert (s["runs"], s["seeds_done"], s["failed_runs"], s["plateau_runs"], s["median_trial_s"]) == (0, 0, [], [], None)
    assert s["seed_kendall_tau"] is None and s["signal_to_noise"] is None
