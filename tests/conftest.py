"""Test-wide settings: no Ray usage stats, a small thread pool, deterministic torch."""

import os

os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import torch  # noqa: E402

torch.set_num_threads(2)
