"""Resident memory read from /proc: in MB, of this or another process, empty once it has ended."""

import subprocess
import sys
import time

import pytest

from nas.core.memory import process_memory_mb


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_another_process_holding_300_mb_reads_about_300_mb():
    child = subprocess.Popen([sys.executable, "-c", "import sys, time; b = bytearray(300 * 2**20); b[::4096] = b'x' * len(b[::4096]); print(1, flush=True); time.sleep(30)"],
                             stdout=subprocess.PIPE)  # fmt: skip
    try:
        child.stdout.readline()  # the pages are touched: resident now
        mem = process_memory_mb(child.pid)
        assert 300 < mem["rss"] < 400 and mem["peak"] >= mem["rss"]  # MB, not kB or pages
    finally:
        child.kill()
        child.wait()
    time.sleep(0.1)
    assert process_memory_mb(child.pid) == {}  # gone: nothing, not an error
    assert 0 < process_memory_mb()["rss"] < 10_000
