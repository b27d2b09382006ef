"""`spinenas finalize` on real local Ray: fresh seeds, the pick and its statistics, resume after
kill -9 without retraining, and one-line refusals."""

import json
import shutil

import pytest
import yaml

from nas.commands.cli import main
from nas.commands.finalize import FinalizeOptions, choose_pick, fresh_seeds, run_finalize
from nas.commands.search import run_search
from nas.reporting.finalize import FinalizeFolder
from nas.reporting.trials import SearchFolder
from tests.ray_cluster import kill_9_after_rows

NOISY = ["proxy=surrogate", "proxy.noise=0.02", "max_concurrent=1"]


@pytest.fixture(scope="module")
def search_run(tmp_path_factory, shared_ray):
    """A finished surrogate search of 8 trials (noise 0.02, seed 0)."""
    out = tmp_path_factory.mktemp("finalize") / "search"
    run_search([*NOISY, "trials=8", f"out_dir={out}"])
    return out


@pytest.fixture(scope="module")
def small_finalize(search_run, tmp_path_factory):
    """One finished finalize through the CLI (the pick against R50-FPN, 2 seeds: 4 runs), shared by
    the tests that read it, refuse on it, or copy it to break it."""
    out = tmp_path_factory.mktemp("small") / "final"
    assert main(["finalize", str(search_run), f"out_dir={out}", "--top", "1", "--seeds", "2", "--baselines", "resnet50_fpn"]) == 0
    return out


def test_fresh_seeds_never_coincide_with_the_search():
    for seed in (0, 1, 7, 1000):
        assert seed not in fresh_seeds(seed, 5) and len(set(fresh_seeds(seed, 5))) == 5


def test_finalize_chooses_on_selection_seeds_and_tests_on_confirmation_seeds(search_run, tmp_path, capsys):
    out = tmp_path / "final"
    assert main(["finalize", str(search_run), f"out_dir={out}", "--top", "2", "--seeds", "3", "--scale", "spinenet96"]) == 0
    rows = FinalizeFolder(out).read_rows()
    assert len(rows) == 2 * 2 + (1 + 2) * 3 and all(r.status == "ok" for r in rows)  # 2 candidates x 2 selection seeds, then pick + 2 baselines x 3
    select = {int(r.values["seed"]) for r in rows if r.values["run"].startswith("select")}
    confirm = {int(r.values["seed"]) for r in rows if r.values["run"].startswith("seed")}
    assert select == {1, 2} and confirm == {3, 4, 5}  # the search trained with seed 0; no seed both chooses and tests
    result = json.loads((out / "finalize.json").read_text())
    search = sorted((r for r in SearchFolder(search_run).read_rows() if r.status == "ok"), key=lambda r: (-r.reward, r.number))
    best_ids = list(dict.fromkeys(r.values["arch_id"] for r in search))[:2]
    archs = {a["name"]: a for a in result["archs"]}
    candidates = [a for a in result["archs"] if a["kind"] == "candidate"]
    assert [a["arch_id"] for a in candidates] == best_ids
    pick = max(candidates, key=lambda a: a["select_mean"])
    assert result["pick"] == pick["name"] and yaml.safe_load((out / "final.yaml").read_text())["name"] == f"final-{pick['name']}"
    for a in archs.values():  # each confirmation mean is its confirmation runs' mean, never the selection runs'
        fresh = [r.reward for r in rows if r.values["arch_id"] == a["arch_id"] and r.values["run"].startswith("seed")]
        assert a["fresh"] == fresh and a["n"] == len(fresh)
    assert archs[pick["name"]]["n"] == 3 and all(a["n"] == 0 and len(a["select"]) == 2 for a in candidates if a is not pick)
    assert archs["resnet50_fpn"]["n"] == 3 and archs["resnet50_fpn"]["select"] == []
    assert pick["shrinkage"] == pytest.approx(pick["search_reward"] - pick["mean"])
    # Only the pick is compared, on the confirmation runs. On the surrogate (match with SpineNet-49) a searched
    # architecture beats the R50-FPN seed and loses to SpineNet-49.
    verdicts = {c["baseline"]: c["verdict"] for c in result["comparisons"]}
    assert {c["candidate"] for c in result["comparisons"]} == {pick["name"]}
    assert verdicts == {"resnet50_fpn": "better", "spinenet49": "worse"}
    assert (out / "finalize.png").stat().st_size > 0 and (out / "scaled" / "spinenet96.yaml").exists()
    assert result["scaled"][0]["image_size"] == 1024 and result["scaled"][0]["params"] > 1e7
    printed = capsys.readouterr().out
    assert f"pick: {result['pick']}" in printed and "vs resnet50_fpn:" in printed and "selection seeds 1, 2 chose the pick" in printed
    assert "confirmation seeds 3, 4, 5" in printed and "one-sided Welch p" in printed and "Holm-adjusted" in printed
    chance = result["chance_under_no_difference"]  # 3 seeds a side, 2 baselines: the simulated rate of a false 'better'
    assert 0.01 < chance["better_vs_first"] < 0.03 and chance["better_vs_any"] < 0.05 and "when nothing differs" in printed


def test_failed_runs_are_trained_again_on_resume(search_run, small_finalize, tmp_path):
    out = tmp_path / "retry"
    shutil.copytree(small_finalize, out)  # the same finalize, finished, in a folder of this test's own
    options = FinalizeOptions(top=1, seeds=2, baselines=("resnet50_fpn",))
    rows = (out / "finalize.csv").read_text().splitlines()
    assert len(rows) == 1 + 4
    (out / "finalize.csv").write_text("\n".join([rows[0], rows[1].replace(",ok,", ",failed,"), *rows[2:], ""]))
    result = run_finalize(search_run, [f"out_dir={out}", "resume=true"], options).result
    after = FinalizeFolder(out).read_rows()
    assert len(after) == 5 and after[-1].status == "ok" and after[-1].values["run"] == after[0].values["run"]
    assert result["failed"] == 1 and all(a["n"] == 2 for a in result["archs"])  # the failed run counts in no mean


@pytest.mark.slow
def test_a_killed_finalize_resumes_without_retraining(search_run, tmp_path, ray_dir):
    out = tmp_path / "killed"
    args = [str(search_run), "proxy.duration_s=0.5", f"out_dir={out}", f"ray.temp_dir={ray_dir}", "--seeds", "4"]
    printed = kill_9_after_rows(["finalize", *args], out / "finalize.csv", 5, ray_dir)
    before = FinalizeFolder(out).read_rows()
    assert 5 <= len(before) < 18, f"{len(before)} rows before the kill; the killed finalize printed: " + " | ".join(printed.strip().splitlines()[-6:])
    outcome = run_finalize(search_run, ["proxy.duration_s=0.5", f"out_dir={out}", "resume=true"], FinalizeOptions(seeds=4))
    after = FinalizeFolder(out).read_rows()
    total = 3 * 2 + (1 + 2) * 4  # 3 candidates x 2 selection seeds, then the pick and 2 baselines x 4
    assert len(after) == total and [r.values for r in after[: len(before)]] == [r.values for r in before]
    assert len({(r.values["arch_id"], r.values["run"]) for r in after}) == total  # no run trained twice
    assert outcome.result["runs"] == total


def test_refusals_are_one_line(search_run, small_finalize, tmp_path, capsys):
    out = small_finalize
    capsys.readouterr()  # nothing of the shared finalize's own output
    (tmp_path / "listed").mkdir()
    (tmp_path / "listed" / "config.yaml").write_text("- proxy\n- searcher\n")  # YAML, but no run's config
    cases = [
        ([str(search_run), f"out_dir={out}", "--top", "1", "--seeds", "2", "--baselines", "resnet50_fpn"], "already holds a finalize"),
        ([str(tmp_path / "listed")], "config.yaml: not a run's config (a YAML mapping of keys to values)"),
        ([str(search_run), f"out_dir={out}", "resume=true", "proxy.noise=0.05", "--top", "1", "--seeds", "2", "--baselines", "resnet50_fpn"],
         "resume: 'proxy.noise' differs"),
        ([str(search_run), f"out_dir={out}", "resume=true", "--top", "1", "--seeds", "3", "--baselines", "resnet50_fpn"], "resume: 'finalize.seeds' differs"),
        ([str(tmp_path / "nothing")], "not a search folder (no config.yaml)"),
        ([str(search_run), "proxy=synthetic"], "a group is changed by its keys, not replaced"),
        ([str(search_run), "proxy.epochz=3"], "unknown config key 'proxy.epochz'"),
        ([str(search_run), "--baselines", "resnet51"], "unknown architecture 'resnet51'"),
        ([str(search_run), "--seeds", "1"], "--seeds must be >= 2"),
        ([str(search_run), f"out_dir={search_run}"], "is a search's folder: finalize would overwrite its config.yaml"),
    ]  # fmt: skip
    for args, message in cases:
        assert main(["finalize", *args]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], (args, err)


def test_a_search_without_ok_trials_is_refused(search_run, tmp_path, capsys):
    failed = tmp_path / "failed"
    failed.mkdir()
    (failed / "config.yaml").write_text((search_run / "config.yaml").read_text())
    rows = (search_run / "trials.csv").read_text().splitlines()
    (failed / "trials.csv").write_text("\n".join([rows[0], *(r.replace(",ok,", ",failed,") for r in rows[1:]), ""]))
    assert main(["finalize", str(failed)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith("no trial finished ok (trials.csv has 8 rows); nothing to finalize") and len(err.splitlines()) == 1


def test_a_running_search_is_refused_and_a_dead_ones_marker_ignored(search_run, tmp_path, capsys):
    import os
    import socket
    import subprocess

    running = tmp_path / "running"
    running.mkdir()
    for name in ("config.yaml", "trials.csv"):
        (running / name).write_text((search_run / name).read_text())
    live = subprocess.Popen(["sleep", "30"])
    try:
        (running / "RUNNING.json").write_text(json.dumps({"host": socket.gethostname(), "pid": live.pid, "started": "now"}))
        assert main(["finalize", str(running), "--top", "1", "--seeds", "2", "--baselines", "resnet50_fpn"]) == 2
        err = capsys.readouterr().err.strip()
        assert "its search is still running" in err and len(err.splitlines()) == 1 and not (running / "finalize").exists()
    finally:
        live.kill()
        live.wait()
    dead = live.pid  # reaped: no such process any more
    assert not os.path.exists(f"/proc/{dead}")
    (running / "RUNNING.json").write_text(json.dumps({"host": socket.gethostname(), "pid": dead, "started": "then"}))
    assert main(["finalize", str(running), "--top", "1", "--seeds", "2", "--baselines", "resnet50_fpn"]) == 0
    assert not (search_run / "RUNNING.json").exists()  # the finished search removed its marker


def test_a_failed_selection_run_does_not_hand_its_candidate_the_pick():
    """trial1's second selection run failed: its one run (0.30) beats trial2's mean of two (0.25), but a
    mean of one is noisier; only the candidates with every selection run compete, unless none has."""
    from nas.reporting.run_folder import Row
    from nas.runner.planned import Candidate
    from search_space.space import get_space

    space = get_space("r0_sp53")
    c1, c2 = (Candidate(f"trial{k}", "candidate", space.sample(k), 0) for k in (1, 2))
    searched = {c1.arch.id: (0.31, 1), c2.arch.id: (0.30, 2)}

    def row(c, run, status, reward):
        return Row({"arch": c.name, "arch_id": c.arch.id, "run": run, "status": status, "reward": reward})

    rows = [row(c1, "select0", "ok", 0.30), row(c1, "select1", "failed", float("nan")), row(c2, "select0", "ok", 0.24), row(c2, "select1", "ok", 0.26)]
    assert choose_pick(rows, [c1, c2], searched) is c2
    both_short = [rows[0], rows[1], rows[2], row(c2, "select1", "failed", float("nan"))]
    assert choose_pick(both_short, [c1, c2], searched) is c1  # one run each: the higher one
    assert choose_pick([rows[1]], [c1, c2], searched) is None  # no selection run finished


def test_select_seeds_zero_is_refused_only_when_there_is_something_to_choose(capsys, tmp_path):
    with pytest.raises(ValueError, match="--select-seeds must be >= 1 to choose among 3 candidates, got 0"):
        FinalizeOptions(top=3, select_seeds=0).check()
    FinalizeOptions(top=1, select_seeds=0).check()  # --top 1: nothing to choose, no selection runs
    assert main(["finalize", str(tmp_path), "--select-seeds", "0"]) == 2
    err = capsys.readouterr().err
    assert "--select-seeds must be >= 1" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
