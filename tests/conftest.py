"""Test-wide settings: no Ray usage stats, a small thread pool, deterministic torch."""

import os
import shutil
import tempfile

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import torch  # noqa: E402

torch.set_num_threads(2)

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
    ray.init(num_cpus=2, num_gpus=0, include_dashboard=False, log_to_driver=False, _temp_dir=path)
    yield path
    ray.shutdown()
    stop_ray_processes_of(path)
    shutil.rmtree(path, ignore_errors=True)
