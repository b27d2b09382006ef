"""`spinenas fidelity` on a real local Ray: the surrogate (known scores) and the tiny real proxy."""

import dataclasses
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from nas.reporting.planned_folder import COLUMNS
from nas.commands.cli import main
from nas.commands.fidelity import FidelityOptions, run_fidelity
from nas.runner.candidates import choose_candidates
from nas.core.ranking import kendall_tau
from nas.reporting.fidelity import compare_summaries, read_summary
from nas.reporting.run_folder import read_csv_records, write_csv
from nas.settings.search import load_settings
from proxy_tasks.surrogate import match_share
from search_space import get_architecture, load_architecture


def test_candidates_spread_over_flops_and_are_deterministic():
    settings = load_settings(["proxy=synthetic_tiny"])
    first = choose_candidates(settings, 5)
    again = choose_candidates(settings, 5)
    assert [c.arch.id for c in first] == [c.arch.id for c in again]
    sampled = [c for c in first if c.kind == "sampled"]
    assert len(sampled) == 5 and len({c.arch.id for c in first}) == 8
    flops = [c.flops for c in sampled]
    assert flops == sorted(flops) and flops[-1] > 1.1 * flops[0]  # cheapest to dearest of the pool (R0-SP53 spans ~15%)
    assert [c.name for c in first[5:]] == ["spinenet49", "resnet50_fpn", "r0_sp53-coarsest"]
    other_seed = choose_candidates(load_settings(["proxy=synthetic_tiny", "seed=1"]), 5)
    assert [c.arch.id for c in other_seed[:5]] != [c.arch.id for c in sampled]


@pytest.mark.slow
def test_surrogate_fidelity_numbers_and_resume(tmp_path, ray_dir):
    out = tmp_path / "fid"
    args = ["proxy=surrogate", "proxy.noise=0.02", f"out_dir={out}", f"ray.temp_dir={ray_dir}", "max_concurrent=2"]
    options = FidelityOptions(archs=5, seeds=3, reference_epochs=1)
    outcome = run_fidelity(args, options)
    rows = read_csv_records(out / "fidelity.csv")
    assert len(rows) == 8 * 3 + 8 and all(r["status"] == "ok" for r in rows)
    assert len({(r["arch_id"], r["run"]) for r in rows}) == len(rows)

    # The reference is the noise-free score: the match share with SpineNet-49.
    target = get_architecture("spinenet49")
    summary = json.loads((out / "fidelity.json").read_text())
    assert summary == outcome.summary
    for a in summary["archs"]:
        arch = load_architecture(out / "archs" / f"{a['name']}.yaml")
        assert arch.id == a["arch_id"]
        assert a["reference"] == pytest.approx(match_share(arch, target))
        assert abs(a["proxy_mean"] - a["reference"]) < 0.06  # noise std 0.02, three seeds
    means = np.array([a["proxy_mean"] for a in summary["archs"]])
    refs = np.array([a["reference"] for a in summary["archs"]])
    assert summary["reference_kendall_tau"] == pytest.approx(kendall_tau(means, refs))
    assert summary["signal_to_noise"] > 3 and summary["seed_kendall_tau"] > 0.6
    assert summary["archs"][5]["name"] == "spinenet49" and summary["archs"][5]["proxy_rank"] == 1
    assert summary["checks"]["spinenet49_minus_resnet50_fpn"] > 0.9
    with Image.open(out / "fidelity.png") as im:
        assert im.width > 500

    # A run killed part way: its last rows are gone (one cut mid-line); resume trains only those.
    kept = rows[:20]
    write_csv(out / "fidelity.csv", COLUMNS, kept)
    with open(out / "fidelity.csv", "a") as f:
        f.write("99,torn")
    before = tmp_path / "before"
    before.mkdir()
    (before / "fidelity.json").write_text((out / "fidelity.json").read_text())
    resumed = run_fidelity([*args, "resume=true"], dataclasses.replace(options, compare_to=before)).summary
    after = read_csv_records(out / "fidelity.csv")
    assert after[:20] == kept and len(after) == len(rows)
    # Ranked against the run before the cut: the same architectures, seeded surrogate scores.
    compared = resumed["compared_to"]
    assert compared["architectures"] == 8 and compared["kendall_tau"] == pytest.approx(1.0) and compared["mean_shift"] == pytest.approx(0.0)
    assert {(r["arch_id"], r["run"]) for r in after} == {(r["arch_id"], r["run"]) for r in rows}
    with pytest.raises(ValueError, match=r"'fidelity.seeds' differs .*\(run: 3, now: 2\)"):
        run_fidelity([*args, "resume=true"], FidelityOptions(archs=5, seeds=2, reference_epochs=1))
    with pytest.raises(ValueError, match="already holds a fidelity run"):
        run_fidelity(args, options)


@pytest.mark.slow
def test_tiny_proxy_fidelity_trains_every_run(tmp_path, ray_dir):
    out = tmp_path / "tiny"
    # Half the tiny set (16 steps an epoch) and 32 validation images.
    args = ["proxy=synthetic_tiny", "proxy.epochs=1", "proxy.data.max_train_images=128", "proxy.data.max_val_images=32",
            f"out_dir={out}", "max_concurrent=2"]  # fmt: skip
    summary = run_fidelity(args, FidelityOptions(archs=2, seeds=2, reference_epochs=2)).summary
    rows = read_csv_records(out / "fidelity.csv")
    assert len(rows) == 5 * 2 + 5 and all(r["status"] == "ok" for r in rows), [r["error"] for r in rows]
    assert {r["seed"] for r in rows if r["run"] != "reference"} == {"0", "1"}
    assert all(r["epochs"] == "2" for r in rows if r["run"] == "reference")
    # Seeds really differ (another initialisation and data order), and every row is a trained model.
    by_arch = {}
    for r in rows:
        if r["run"] != "reference":
            by_arch.setdefault(r["arch_id"], []).append(float(r["AP"]))
    assert any(a != b for a, b in by_arch.values())
    assert all(0 <= float(r["AP"]) <= 1 and int(r["flops"]) > 0 for r in rows)
    # An architecture whose (2-epoch) reference run is still on the plateau learns nothing here: it is left out of
    # every tau and SNR, and the numbers exist exactly when two or more are left.
    stuck = sorted(r["arch"] for r in rows if r["run"] == "reference" and r["plateau"])
    assert summary["left_out"] == stuck
    assert (summary["seed_kendall_tau"] is not None) == (summary["signal_to_noise"] is not None) == (len(stuck) <= 3)
    # Values, not just shapes: twice the training learns more, and the reference ranks SpineNet-49
    # above the space's coarsest member (measured: ~0.03 vs ~0.012 AP at 2 epochs).
    ref = {r["arch"]: float(r["AP"]) for r in rows if r["run"] == "reference"}
    short = [float(r["AP"]) for r in rows if r["run"] != "reference"]
    assert sum(ref.values()) / len(ref) > sum(short) / len(short)
    assert ref["spinenet49"] > ref["r0_sp53-coarsest"]


def test_compare_summaries_ranks_shared_architectures_against_an_earlier_run(tmp_path):
    def summary(means):
        return {"proxy": "p", "archs": [{"name": f"a{k}", "arch_id": f"id{k}", "proxy_mean": m} for k, m in enumerate(means)]}

    earlier = summary([0.10, 0.20, 0.30, 0.40, None])
    # Three shared (a1 has no mean now, a4 none before), one of their three pairs swapped: tau = 1/3.
    now = summary([0.05, None, 0.12, 0.11, 0.5])
    now["archs"].append({"name": "new", "arch_id": "elsewhere", "proxy_mean": 0.9})
    compared = compare_summaries(now, earlier, "old")
    assert compared["architectures"] == 3 and compared["earlier_means"] == {"a0": 0.10, "a2": 0.30, "a3": 0.40}
    assert compared["kendall_tau"] == pytest.approx(1 / 3) and compared["mean_shift"] == pytest.approx((-0.05 - 0.18 - 0.29) / 3)
    same = compare_summaries(summary([0.2, 0.3, 0.4, 0.5, 0.1]), earlier, "old")
    assert same["kendall_tau"] == pytest.approx(1.0) and same["architectures"] == 4
    one = compare_summaries(summary([0.1, None, None, None, None]), earlier, "old")
    assert one["architectures"] == 1 and one["kendall_tau"] is None and one["spearman_rho"] is None

    (tmp_path / "fidelity.json").write_text('{"archs": [{"name": "x"}]}')
    with pytest.raises(ValueError, match=r"fidelity.json is not a fidelity summary"):
        read_summary(tmp_path)
    (tmp_path / "fidelity.json").write_text('{"archs": [')
    with pytest.raises(ValueError, match=r"fidelity.json is not readable JSON"):
        read_summary(tmp_path)


@pytest.mark.parametrize(
    "extra, message, in_process",
    [
        (["--archs", "1"], "--archs must be >= 2", True),
        (["--seeds", "0"], "--seeds must be >= 1", True),
        (["--reference-epochs", "-1"], "--reference-epochs must be >= 0", True),
        (["--compare-to", "nowhere"], "nowhere/fidelity.json does not exist", True),
        (["proxy.epochz=3"], "proxy.epochz", False),  # as a process: its exit code is main's
    ],
)
def test_fidelity_bad_input_is_one_line_exit_2(extra, message, in_process, tmp_path, capsys):
    args = ["fidelity", "proxy=surrogate", f"out_dir={tmp_path / 'o'}", *extra]
    if in_process:
        code, err = main(args), capsys.readouterr().err
    else:
        proc = subprocess.run([sys.executable, "-m", "nas", *args], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=os.getcwd()))
        code, err = proc.returncode, proc.stderr
    assert code == 2, err
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_architectures_that_learn_nothing_leave_every_tau_and_the_snr():
    """The same rule as proxy-design's: an architecture on the plateau in its reference run (or, with
    no reference, in every seed) is left out; kept, its always-last scores are free concordant pairs."""
    from nas.reporting.fidelity import left_out, summarize
    from nas.reporting.run_folder import Row
    from nas.runner.planned import Candidate

    from search_space.space import get_space

    archs = [Candidate(f"a{k}", "sampled", get_space("r0_sp53").sample(np.random.default_rng(k)), 0) for k in range(3)]
    assert len({a.arch.id for a in archs}) == 3
    scores = {0: (0.20, 0.21, 0.005), 1: (0.21, 0.20, 0.005)}  # a0, a1 swap places between the seeds; a2 on the plateau, always last
    rows = [
        Row({"arch": a.name, "arch_id": a.arch.id, "run": f"seed{k}", "status": "ok", "reward": v, "plateau": "ap50" if v < 0.01 else ""})
        for k in range(2)
        for a, v in zip(archs, scores[k])
    ]
    header = {"proxy": "p", "space": "s", "metric": "AP", "seeds": 2, "reference_epochs": 0, "reference": None}
    assert left_out(rows, archs) == ["a2"]
    s = summarize(rows, archs, header, intervals=True)
    assert s["left_out"] == ["a2"] and s["seed_kendall_tau"] == pytest.approx(-1.0) and s["signal_to_noise"] == pytest.approx(0.0)
    # kept, a2's two free pairs would read seed tau 1/3 and an SNR far over 3
    ref = [Row({"arch": a.name, "arch_id": a.arch.id, "run": "reference", "status": "ok", "reward": v, "plateau": ""}) for a, v in zip(archs, (0.3, 0.2, 0.1))]
    assert left_out([*rows, *ref], archs) == []  # the reference learns a2: it stays, plateau runs and all
