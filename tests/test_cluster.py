"""Searches on a real two-node Ray cluster started with `ray start` (token authentication on).

One cluster serves the module: a search runs trials on both nodes; then a search loses its worker
node mid-run (the lost trial is retried on the head), its driver is killed with -9, and the
resumed search finishes the asked number of trials against the same cluster.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nas.reporting.trials import SearchFolder
from tests.ray_cluster import LocalCluster

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cache = os.environ["SPINENAS_CACHE"]  # the nodes' workers inherit their environment from `ray start`
    with LocalCluster(workers=1, cpus_per_node=1, env={"SPINENAS_CACHE": cache}) as c:
        yield c


@pytest.fixture
def driver_env(cluster):
    """The environment of a driver joining the cluster (Ray reads the token mode when imported,
    so drivers run as `spinenas search` subprocesses, as users run them)."""
    return dict(cluster.env, PYTHONPATH=os.getcwd())


def search(args, env):
    """`spinenas search ARGS` in a subprocess; returns its summary.json."""
    done = subprocess.run([sys.executable, "-m", "nas", "search", *args], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    out = next(a.split("=", 1)[1] for a in args if a.startswith("out_dir="))
    return json.loads((Path(out) / "summary.json").read_text())


def test_trials_run_on_both_nodes(cluster, driver_env, tmp_path):
    out = tmp_path / "two-nodes"
    args = ["ray=cluster", f"ray.address={cluster.address}", "proxy=synthetic_tiny", "proxy.epochs=1", "proxy.data.max_train_images=32",
            "proxy.data.max_val_images=8", "trials=4", "max_concurrent=2", f"out_dir={out}"]  # fmt: skip
    summary = search(args, driver_env)
    rows = SearchFolder(out).read_rows()
    assert len(rows) == 4 and all(r.status == "ok" and r.reward >= 0 for r in rows)
    nodes = {r.values["node"] for r in rows}
    assert len(nodes) == 2, nodes  # one address, two Ray node ids
    assert summary["nodes"] == sorted(nodes) and sum(n["trials"] for n in summary["by_node"].values()) == 4
    assert summary["cpu_s"] > 0 and summary["per_trial"]["wall_s"] > 0


def test_search_survives_a_lost_worker_node_and_a_killed_driver(cluster, driver_env, tmp_path):
    out = tmp_path / "faults"
    args = [
        "ray=cluster",
        f"ray.address={cluster.address}",
        "proxy=surrogate",
        "proxy.duration_s=2",
        "trials=10",
        "max_concurrent=2",
        f"out_dir={out}",
    ]
    proc = subprocess.Popen([sys.executable, "-m", "nas", "search", *args], env=driver_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    worker = cluster.nodes[1]
    try:
        deadline = time.time() + 120
        while not worker.running_trial():  # a trial is training on the worker node right now
            assert time.time() < deadline and proc.poll() is None, "no trial reached the worker node"
            time.sleep(0.2)
        time.sleep(1.0)
        worker.kill()

        # The lost trial is retried on the head; then the driver dies mid-search.
        folder = SearchFolder(out)
        deadline = time.time() + 180
        while True:
            rows = folder.read_rows() if folder.trials_csv.exists() else []
            if len(rows) >= 5 and any(int(r.values["retries"] or 0) >= 1 for r in rows):
                break
            assert time.time() < deadline and proc.poll() is None, f"no retried trial finished; rows={len(rows)}"
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    before = SearchFolder(out).read_rows()
    assert 5 <= len(before) < 10

    summary = search([*args, "resume=true"], driver_env)
    after = SearchFolder(out).read_rows()
    assert len(after) == 10 and len({r.trial_id for r in after}) == 10
    assert all(r.status == "ok" for r in after)
    assert len({r.values["arch_id"] for r in after}) == 10  # the sampler went on from its saved state
    assert [r.values for r in after[: len(before)]] == [r.values for r in before]
    assert summary["retries"] >= 1 and summary["trials"] == 10
    assert len(json.loads((out / "searcher.json").read_text())["completed"]) == 10
