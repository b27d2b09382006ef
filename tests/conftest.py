"""Test-wide settings: no Ray usage stats, a small thread pool, deterministic torch."""

import os

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
