"""Searches on a real local Ray: every output file, failures, and resume after kill -9."""

import json
import os
import re
import subprocess
import sys

import pytest
import yaml
from PIL import Image

from nas.commands.cli import main
from nas.reporting.trials import SearchFolder
from nas.runner.failures import RepeatedFailureError
from nas.commands.search import run_search
from search_space import get_space, load_architecture
from tests.ray_cluster import kill_9_after_rows


@pytest.mark.slow
def test_small_search_writes_every_file(tmp_path, ray_dir, capsys):
    out = tmp_path / "run"
    # 96 training images: 12 steps, enough for a loss curve that falls; 16 validation images.
    args = ["proxy=synthetic_tiny", "proxy.epochs=1", "proxy.data.max_train_images=96", "proxy.data.max_val_images=16",
            "trials=3", "max_concurrent=2", f"out_dir={out}"]  # fmt: skip
    outcome = run_search(args)
    folder = SearchFolder(out)
    rows = folder.read_rows()
    assert [r.number for r in rows] == [1, 2, 3] and len({r.trial_id for r in rows}) == 3
    assert all(r.status == "ok" and 0 <= r.reward <= 1 for r in rows)
    assert all(float(r.values["AP"]) == r.reward and int(r.values["flops"]) > 0 for r in rows)
    best = max(rows, key=lambda r: r.reward)
    space = get_space("r0_sp53", block_adjustments=True)
    spec = load_architecture(out / "best.yaml")
    assert spec.blocks == space.decode(best.actions).blocks and spec.id == best.values["arch_id"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary == outcome.summary and summary["trials"] == 3 and summary["best_trial"] == best.number
    assert summary["cpu_s"] > 0 and summary["nodes"]
    state = json.loads((out / "searcher.json").read_text())
    assert sorted(state["completed"]) == sorted(r.trial_id for r in rows) and not state["pending"]
    assert yaml.safe_load((out / "config.yaml").read_text())["trials"] == 3
    # The folder says how its images were padded, so a resume is not refused as a black-padded training's
    # (it was, for every training search written on 2026-12-07 before this line), and finalize reads it back.
    from nas.settings.search import RESUME_FIXED, check_resumable, load_settings, run_settings

    assert yaml.safe_load((out / "config.yaml").read_text())["pixels"] == "pad-mean"
    check_resumable(out, load_settings([*args, "resume=true"]).cfg, RESUME_FIXED)
    assert run_settings(out, []).proxy.label == "synthetic_tiny"
    for png in ("best.png", "progress.png"):
        with Image.open(out / png) as im:
            assert im.width > 300
    # TensorBoard: the search's scalars, and each trial's loss curve from Tune's own logger.
    search_tb = scalars_of(out / "tensorboard")
    assert [e.step for e in search_tb["search/reward"]] == [1, 2, 3]
    assert [e.value for e in search_tb["search/best_reward"]][-1] == pytest.approx(best.reward)
    assert search_tb["controller/entropy"]  # batch 2: one update after two completions
    for trial_dir in (out / "tune").glob("*/trial_*"):
        curve = scalars_of(trial_dir)
        loss = [e.value for e in curve["ray/tune/loss"]]
        assert len(loss) >= 10 and loss[-1] < loss[0]  # it trained
        assert curve["ray/tune/AP"][-1].step == curve["ray/tune/loss"][-1].step  # AP at the last step
    assert len(list((out / "tune").glob("*/trial_*"))) == 3
    assert "report.html" in os.listdir(out)
    # The written spec is accepted unchanged by `spinenas show`.
    capsys.readouterr()
    assert main(["show", str(out / "best.yaml"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == spec.id


def scalars_of(logdir):
    """Every scalar series in a TensorBoard log folder, read as TensorBoard reads it."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(logdir))
    acc.Reload()
    return {tag: acc.Scalars(tag) for tag in acc.Tags()["scalars"]}


@pytest.mark.slow
def test_failing_trials_are_recorded_and_the_search_completes(tmp_path, ray_dir):
    out = tmp_path / "fail"
    # alpha 0.001 leaves some resampling convs with width 0: every trial raises while building.
    run_search(["proxy=synthetic_tiny", "proxy.model.resample_alpha=0.001", "trials=2", f"out_dir={out}", f"ray.temp_dir={ray_dir}"])
    rows = SearchFolder(out).read_rows()
    assert len(rows) == 2 and all(r.status == "failed" and r.reward == 0.0 for r in rows)
    assert all("InputError: resample width" in r.values["error"] for r in rows)
    assert json.loads((out / "summary.json").read_text())["failed"] == 2
    assert not (out / "best.yaml").exists() and (out / "progress.png").exists()
    page = (out / "report.html").read_text()  # the report lists the failures with their errors
    assert page.count("InputError: resample width") == 2 and "2 failed" in page


def test_out_dir_of_another_run_is_not_overwritten(tmp_path):
    (tmp_path / "trials.csv").write_text("number\n")
    with pytest.raises(ValueError, match="already holds a search; continue it with resume=true"):
        run_search([f"out_dir={tmp_path}", "proxy=surrogate"])
    with pytest.raises(ValueError, match="nothing to resume"):
        run_search([f"out_dir={tmp_path / 'empty'}", "resume=true", "proxy=surrogate"])


@pytest.mark.slow
def test_resume_after_kill_9(tmp_path, ray_dir):
    out = tmp_path / "resumed"
    args = ["proxy=surrogate", "proxy.duration_s=0.4", "trials=14", "max_concurrent=2", f"out_dir={out}", f"ray.temp_dir={ray_dir}"]
    kill_9_after_rows(["search", *args], out / "trials.csv", 5, ray_dir)
    before = SearchFolder(out).read_rows()
    assert 4 <= len(before) < 14, len(before)

    run_search([*args, "resume=true"])
    after = SearchFolder(out).read_rows()
    assert len(after) == 14 and [r.number for r in after] == list(range(1, 15))
    assert len({r.trial_id for r in after}) == 14  # no trial recorded twice
    assert len({r.values["arch_id"] for r in after}) == 14  # the sampler went on from its saved state
    assert [r.values for r in after[: len(before)]] == [r.values for r in before]  # nothing finished was lost
    state = json.loads((out / "searcher.json").read_text())
    assert len(state["completed"]) == 14
    with pytest.raises(ValueError, match=r"'searcher.name' differs .*\(run: 'reinforce', now: 'random'\)"):
        run_search([*args, "resume=true", "searcher=random"])


RAY_LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+\t(INFO|WARNING) ")


@pytest.mark.parametrize(
    "args, message",
    [
        (["trialz=3"], "unknown config key 'trialz'"),
        (["searcher=bayes"], "Could not find 'searcher/bayes'"),
        (["space.name=r50"], "unknown search space 'r50'"),
        (["trials=0"], "trials must be >= 1"),
        (["reward=flops_budget"], "missing value"),
        (["trials=abc"], "trials: 'abc' is not an integer"),
    ],
)
def test_search_bad_input_is_one_line_exit_2(args, message, tmp_path, capsys):
    if args == ["trialz=3"]:  # one case as a process: its exit code and stderr are main's (the rest in-process, without torch's import each)
        env = dict(os.environ, PYTHONPATH=os.getcwd())
        proc = subprocess.run([sys.executable, "-m", "nas", "search", *args, f"out_dir={tmp_path / 'o'}"], capture_output=True, text=True, env=env)
        code, stderr = proc.returncode, proc.stderr
    else:
        code, stderr = main(["search", *args, f"out_dir={tmp_path / 'o'}"]), capsys.readouterr().err
    assert code == 2, stderr
    assert message in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        # Everything a search can know before its first trial (issue 13); in this process, since the
        # subprocess cases above already show that main's return code is the process's.
        (["proxy=surrogate", "proxy.target=spinenet50"], "proxy.target: 'spinenet50' is neither a catalog architecture"),
        (["+searcher.lrr=0.1"], "unknown config key 'searcher.lrr': did you mean searcher.lr? (searcher reinforce's keys: hidden, lr,"),
        (["searcher.lr=fast"], "searcher.lr: 'fast' is not a float"),
        (["searcher.batch_size=0"], "searcher.batch_size and searcher.late_batch_size must be >= 1"),
        (["proxy.lr=0.1"], "unknown config key 'proxy.lr': did you mean proxy.optim.lr?"),
        (["space.foo=1"], "unknown config key 'space.foo' (SpaceConfig's keys: name, block_adjustments, parent_window)"),
        (["trial.gpus=half"], "trial.gpus: 'half' is not a float"),
        (["proxy=surrogate", "reward=flops_budget", "reward.target_flops=1e9"], "the reward trades AP against flops, and proxy=surrogate measures no flops"),
        (["proxy=custom", "proxy.data.train_ann=NOPE/train.json", "proxy.data.train_images=.", "proxy.data.val_ann=NOPE/val.json",
          "proxy.data.val_images=."], "NOPE/train.json: annotation file not found"),  # fmt: skip
        (["proxy=custom", "proxy.data.train_ann=BROKEN", "proxy.data.train_images=.", "proxy.data.val_ann=BROKEN",
          "proxy.data.val_images=."], "broken.json: not valid JSON at line 1"),  # fmt: skip
        (["proxy=surrogate", "trial.gpus=1", "ray.num_cpus=1"], "trial.gpus=1, but no node of the Ray cluster has more than 0 GPUs"),
    ],
)
def test_search_refuses_at_start_up(args, message, tmp_path, ray_dir, capsys):
    (tmp_path / "broken.json").write_text('{"images": [')
    args = [a.replace("BROKEN", str(tmp_path / "broken.json")) for a in args]
    if any(a.startswith("trial.gpus=1") for a in args):
        args.append(f"ray.temp_dir={ray_dir}")  # this one starts Ray to see the cluster, then stops
    assert main(["search", *args, f"out_dir={tmp_path / 'o'}"]) == 2
    err = capsys.readouterr().err
    ours = [line for line in err.strip().splitlines() if not RAY_LOG_LINE.match(line)]  # Ray logs its start
    assert len(ours) == 1 and message in ours[0], err
    assert not (tmp_path / "o").exists()


def test_an_internal_error_is_not_dressed_as_a_user_error(monkeypatch):
    """Only the user-facing error family becomes one line and exit 2; a bug keeps its traceback."""
    import nas.commands.show as show_module

    def broken(ref):
        raise KeyError("a bug of ours")

    monkeypatch.setattr(show_module, "resolve_architecture", broken)
    with pytest.raises(KeyError, match="a bug of ours"):
        main(["show", "spinenet49"])
    proc = subprocess.run(
        [sys.executable, "-c", "import sys, nas.commands.cli as c, nas.commands.show as s; s.resolve_architecture = lambda r: {}[r]; sys.exit(c.main(['show', 'x']))"],
        capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=os.getcwd()),
    )  # fmt: skip
    assert proc.returncode == 1 and "Traceback" in proc.stderr


@pytest.mark.slow
def test_identical_failures_end_the_search(tmp_path, ray_dir):
    out = tmp_path / "same"
    args = ["proxy=synthetic_tiny", "proxy.model.resample_alpha=0.001", "trials=6", "max_concurrent=1",
            "trial.abort_after_identical_failures=2", f"out_dir={out}", f"ray.temp_dir={ray_dir}"]  # fmt: skip
    with pytest.raises(RepeatedFailureError, match="the last 2 trials failed with the same error.*resample width"):
        run_search(args)
    rows = SearchFolder(out).read_rows()
    assert len(rows) == 2 and all(r.status == "failed" for r in rows)  # not 6: the search stopped
    assert json.loads((out / "summary.json").read_text())["failed"] == 2
    assert "stopped" in (out / "report.html").read_text()


def test_bad_searcher_option_writes_nothing(tmp_path):
    out = tmp_path / "never"
    with pytest.raises(ValueError, match=r"unknown config key 'searcher.lrr': did you mean searcher.lr\? \(searcher reinforce's keys: "):
        run_search(["+searcher.lrr=0.1", "proxy=surrogate", f"out_dir={out}"])
    assert not out.exists()
