"""`spinenas finalize` on real local Ray: fresh seeds, the pick and its statistics, resume after
kill -9 without retraining, and one-line refusals."""

import json

import pytest
import yaml

from nas.commands.cli import main
from nas.commands.finalize import FinalizeOptions, fresh_seeds, run_finalize
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


def test_fresh_seeds_never_coincide_with_the_search():
    for seed in (0, 1, 7, 1000):
        assert seed not in fresh_seeds(seed, 5) and len(set(fresh_seeds(seed, 5))) == 5


def test_finalize_retrains_the_top_distinct_architectures_and_the_baselines(search_run, tmp_path, capsys):
    out = tmp_path / "final"
    assert main(["finalize", str(search_run), f"out_dir={out}", "--top", "2", "--seeds", "3", "--scale", "spinenet96"]) == 0
    rows = FinalizeFolder(out).read_rows()
    assert len(rows) == (2 + 2) * 3 and all(r.status == "ok" for r in rows)
    assert {int(r.values["seed"]) for r in rows} == {1, 2, 3}  # the search trained with seed 0
    result = json.loads((out / "finalize.json").read_text())
    search = sorted((r for r in SearchFolder(search_run).read_rows() if r.status == "ok"), key=lambda r: (-r.reward, r.number))
    best_ids = list(dict.fromkeys(r.values["arch_id"] for r in search))[:2]
    archs = {a["name"]: a for a in result["archs"]}
    assert [a["arch_id"] for a in result["archs"] if a["kind"] == "candidate"] == best_ids
    assert set(archs) >= {"resnet50_fpn", "spinenet49"} and all(a["n"] == 3 for a in archs.values())
    for a in archs.values():  # each mean is its fresh runs' mean; shrinkage is search reward minus it
        fresh = [r.reward for r in rows if r.values["arch_id"] == a["arch_id"]]
        assert a["mean"] == pytest.approx(sum(fresh) / 3)
        if a["kind"] == "candidate":
            assert a["shrinkage"] == pytest.approx(a["search_reward"] - a["mean"])
    pick = max((a for a in archs.values() if a["kind"] == "candidate"), key=lambda a: a["mean"])
    assert result["pick"] == pick["name"] and yaml.safe_load((out / "final.yaml").read_text())["name"] == f"final-{pick['name']}"
    # On the surrogate (match with SpineNet-49) a searched architecture beats the R50-FPN seed and loses to SpineNet-49.
    verdicts = {c["baseline"]: c["verdict"] for c in result["comparisons"] if c["candidate"] == result["pick"]}
    assert verdicts == {"resnet50_fpn": "better", "spinenet49": "worse"}
    assert (out / "finalize.png").stat().st_size > 0 and (out / "scaled" / "spinenet96.yaml").exists()
    assert result["scaled"][0]["image_size"] == 1024 and result["scaled"][0]["params"] > 1e7
    printed = capsys.readouterr().out
    assert f"pick: {result['pick']}" in printed and "vs resnet50_fpn:" in printed


@pytest.mark.slow
def test_a_killed_finalize_resumes_without_retraining(search_run, tmp_path, ray_dir):
    out = tmp_path / "killed"
    args = [str(search_run), "proxy.duration_s=0.5", f"out_dir={out}", f"ray.temp_dir={ray_dir}", "--seeds", "4"]
    kill_9_after_rows(["finalize", *args], out / "finalize.csv", 5, ray_dir)
    before = FinalizeFolder(out).read_rows()
    assert 5 <= len(before) < 20, len(before)
    outcome = run_finalize(search_run, ["proxy.duration_s=0.5", f"out_dir={out}", "resume=true"], FinalizeOptions(seeds=4))
    after = FinalizeFolder(out).read_rows()
    assert len(after) == 20 and [r.values for r in after[: len(before)]] == [r.values for r in before]
    assert len({(r.values["arch_id"], r.values["run"]) for r in after}) == 20  # no run trained twice
    assert outcome.result["runs"] == 20


def test_refusals_are_one_line(search_run, tmp_path, capsys):
    out = tmp_path / "again"
    assert main(["finalize", str(search_run), f"out_dir={out}", "--top", "1", "--seeds", "2", "--baselines", "resnet50_fpn"]) == 0
    capsys.readouterr()
    cases = [
        ([str(search_run), f"out_dir={out}", "--top", "1", "--seeds", "2", "--baselines", "resnet50_fpn"], "already holds a finalize"),
        ([str(search_run), f"out_dir={out}", "resume=true", "proxy.noise=0.05", "--top", "1", "--seeds", "2", "--baselines", "resnet50_fpn"],
         "resume: 'proxy.noise' differs"),
        ([str(search_run), f"out_dir={out}", "resume=true", "--top", "1", "--seeds", "3", "--baselines", "resnet50_fpn"], "resume: 'finalize.seeds' differs"),
        ([str(tmp_path / "nothing")], "not a search folder (no config.yaml)"),
        ([str(search_run), "proxy=synthetic"], "a group is changed by its keys, not replaced"),
        ([str(search_run), "proxy.epochz=3"], "unknown config key 'proxy.epochz'"),
        ([str(search_run), "--baselines", "resnet51"], "unknown architecture 'resnet51'"),
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
