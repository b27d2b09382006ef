"""`spinenas table` on a real local Ray with the tiny real proxy: rows, summary, resume, and that a
row re-trained with its seed gives its AP again (the table is real)."""

import json
import signal

import numpy as np
import pandas as pd
import pytest

from nas.commands.table import TableOptions, plan_table, run_table
from nas.runner.candidates import uniform_candidates
from nas.core.status import TrialStatus
from nas.reporting.bench_table import TableFolder, read_table
from nas.runner.trial import TrialSpec, run_trial
from nas.settings.search import load_settings
from search_space import load_architecture
from search_space.errors import StoppedEarly

TINY = ["proxy=synthetic_tiny", "proxy.epochs=1", "proxy.data.max_train_images=48", "proxy.data.max_val_images=16", "trial.cpus=1"]
LATENCY = ["latency.image_size=128", "latency.threads=1", "latency.with_head=false"]  # a table calibrated in seconds


def test_uniform_draws_are_a_stable_prefix():
    settings = load_settings(["proxy=synthetic_tiny"])
    three, five = uniform_candidates(settings, 3), uniform_candidates(settings, 5)
    assert [c.name for c in three[:3]] == ["spinenet49", "resnet50_fpn", "r0_sp53-coarsest"]
    assert [c.arch.id for c in five[:6]] == [c.arch.id for c in three]  # a larger --archs adds rows, keeps the old
    assert len({c.arch.id for c in five}) == 8
    runs = plan_table(settings, five, 2)
    assert [(r.candidate.name, r.run, r.seed) for r in runs[:2]] == [("spinenet49", "seed0", 0), ("spinenet49", "seed1", 1)]


@pytest.mark.slow
def test_table_rows_summary_resume_and_a_row_retrained(tmp_path, monkeypatch):
    out = tmp_path / "table"
    args = [*TINY, *LATENCY, f"out_dir={out}", "max_concurrent=2"]
    # Ctrl-C as the first run's row is written (in Tune's loop, as a user's key press lands): the
    # command stops (exit 130) and still writes the table of what finished, marked unfinished, which
    # the resume then completes.
    append = TableFolder.append

    def append_then_ctrl_c(self, *a, **k):
        row = append(self, *a, **k)
        signal.raise_signal(signal.SIGINT)
        monkeypatch.setattr(TableFolder, "append", append)  # once
        return row

    monkeypatch.setattr(TableFolder, "append", append_then_ctrl_c)
    with pytest.raises(StoppedEarly) as stopped:
        run_table(args, TableOptions(archs=1, seeds=2, probe_at=(0.5,)))
    assert stopped.value.exit_code == 130
    cut = json.loads((out / "table.json").read_text())
    done = pd.read_csv(out / "runs.csv", dtype=str)
    assert cut["finished"] is False and cut["planned_runs"] == 8 and cut["runs"] == len(done) < 8
    assert read_table(out / "table.csv")["seeds"].sum() == len(done)
    outcome = run_table([*args, "resume=true"], TableOptions(archs=1, seeds=2, probe_at=(0.5,)))
    runs = pd.read_csv(out / "runs.csv", dtype={"arch_id": str})
    runs_text = pd.read_csv(out / "runs.csv", dtype=str)
    assert len(runs) == 8 and set(runs["status"]) == {TrialStatus.OK.value}
    for column in ("AP@0.5", "AP50@0.5", "initial_loss", "final_loss", "train_s", "machine", "flops", "params"):
        assert runs[column].notna().all(), column
    assert (runs["initial_loss"] > 0).all() and (runs["final_loss"] > 0).all()
    table = read_table(out / "table.csv")
    assert len(table) == 4 and (table["seeds"] == 2).all()
    latency = table.set_index("arch")["latency_ms"]
    assert latency.drop("resnet50_fpn").gt(0).all() and np.isnan(latency["resnet50_fpn"])  # the FPN seed is not made of the space's parts
    row = table.set_index("arch_id").loc[runs["arch_id"][0]]
    assert row["AP"] == pytest.approx(runs[runs["arch_id"] == runs["arch_id"][0]]["AP"].mean(), abs=1e-6)
    summary = json.loads((out / "table.json").read_text())
    assert summary == outcome.summary and summary["complete_architectures"] == 4 and summary["failed_runs"] == 0
    assert summary["finished"] is True and summary["planned_runs"] == 8
    assert summary["seed_kendall_tau"]["n"] == 4 and -1 <= summary["seed_kendall_tau"]["value"] <= 1
    for arch_id in table["arch_id"]:
        assert load_architecture(out / "archs" / f"{arch_id}.yaml").id == arch_id

    # A row re-trained outside Ray with its seed gives the same AP to the last digit.
    first = runs.iloc[0]
    settings = load_settings([*TINY, "proxy.probe_at=[0.5]"])
    arch = load_architecture(out / "archs" / f"{first['arch_id']}.yaml")
    again = run_trial({"arch": arch.to_dict(), "arch_id": arch.id, "proxy_overrides": {"seed": int(first["seed"])}},
                      TrialSpec(settings.proxy, settings.reward, "spinenet49", threads=1))  # fmt: skip
    assert again["AP"] == first["AP"] and again["AP@0.5"] == first["AP@0.5"]

    # Growing the table on resume trains only the new architecture's runs and keeps the old rows; while
    # they train, the earlier table.json no longer says the table is finished.
    while_growing = []
    monkeypatch.setattr(TableFolder, "append", lambda self, *a, **k: while_growing.append(json.loads((out / "table.json").read_text())) or append(self, *a, **k))
    run_table([*args, "resume=true"], TableOptions(archs=2, seeds=2, probe_at=(0.5,)))
    assert [(s["finished"], s["planned_runs"]) for s in while_growing] == [(False, 10), (False, 10)]
    assert json.loads((out / "table.json").read_text())["finished"] is True
    grown = pd.read_csv(out / "runs.csv", dtype=str)  # compared as text: a column's inferred type can change with its rows
    assert len(grown) == 10 and grown.iloc[:8].equals(runs_text) and grown.iloc[: len(done)].equals(done)  # the rows before the Ctrl-C too
    assert len(read_table(out / "table.csv")) == 5

