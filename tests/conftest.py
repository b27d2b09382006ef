"""Test-wide settings: no Ray usage stats, a small thread pool, deterministic torch.

Under pytest-xdist (`-n 2` in pyproject's addopts) the machine's cores are split between the
workers: each worker's torch and its session Ray get `WORKER_CPUS`, so two workers never run more
trials or threads than there are cores (oversubscribed OpenMP threads spin-wait: a 2-thread trial
beside another worker's trials ran 3.5x slower)."""

import os
import shutil
import tempfile

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import torch  # noqa: E402

WORKER_CPUS = max(1, min(2, (os.cpu_count() or 1) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))))
torch.set_num_threads(WORKER_CPUS)

import pytest  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _session_cache(tmp_path_factory):
    """One cache folder per test session (synthetic datasets and image caches are built once)."""
    if "SPINENAS_TEST_CACHE" in os.environ:  # reuse across local runs
        os.environ["SPINENAS_CACHE"] = os.environ["SPINENAS_TEST_CACHE"]
    else:
        os.environ["SPINENAS_CACHE"] = str(tmp_path_factory.mktemp("spinenas-cache"))
    yield


@pytest.fixture
def ray_dir(shared_ray):
    """A short per-test Ray session folder (socket paths must stay under ~100 characters) for the
    Ray a test's subprocess starts (`python -m nas ...`); its processes are stopped by PID
    afterwards. Campaigns run in this process join the session's `shared_ray` instead."""
    from tests.ray_cluster import stop_ray_processes_of

    path = tempfile.mkdtemp(prefix="rt", dir="/tmp")
    yield path
    stop_ray_processes_of(path)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def shared_ray(_session_cache):
    """One local Ray for the whole test session, started in this process: every in-process
    campaign (run_search, run_fidelity, run_finalize, run_proxy_design) joins it, as
    `nas.runner.ray_session` joins a Ray its process already runs, instead of starting and
    stopping its own (3-5 s each). Its processes are stopped by PID at the end."""
    import ray

    from tests.ray_cluster import stop_ray_processes_of

    path = tempfile.mkdtemp(prefix="rs", dir="/tmp")
    ray.init(num_cpus=WORKER_CPUS, num_gpus=0, include_dashboard=False, log_to_driver=False, _temp_dir=path)
    yield path
    ray.shutdown()
    stop_ray_processes_of(path)
    shutil.rmtree(path, ignore_errors=True)


# The files whose end-to-end runs take longest (`pytest --durations`, 2026-12-07 17:10 run; benchmarks/runs/suite-2026-12-07/),
# longest first. They are collected first, so pytest-xdist starts them early and the many short
# tests fill the end, instead of one worker running a 100 s test alone while the other idles.
LONG_FIRST = (
    "test_fidelity.py", "test_proxy_design.py", "test_table.py", "test_search.py", "test_cluster.py", "test_finalize.py", "test_early_stop.py",
    "test_new_kinds.py", "test_plugins.py", "test_latency_search.py", "test_latency.py", "test_plateau.py", "test_screen_stage.py", "test_searchers.py",
    "test_report.py", "test_task.py", "test_export.py", "test_controller.py",
)  # fmt: skip


def pytest_collection_modifyitems(session, config, items):
    rank = {name: k for k, name in enumerate(LONG_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest keep their order
