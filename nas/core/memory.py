"""Resident memory of a process from /proc (Linux), with no heavy import: the trial code, the
sizing rules and the memory benchmarks read it the same way."""

from __future__ import annotations

KEYS = {"VmRSS": "rss", "VmHWM": "peak"}


def process_memory_mb(pid: int | str = "self") -> dict[str, float]:
    """Process `pid`'s resident memory now (`rss`) and at its peak (`peak`), in MB, from
    /proc/<pid>/status; empty where there is none (not Linux, or the process has ended)."""
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as f:
            lines = [line.partition(":") for line in f]
    except OSError:
        return {}
    return {KEYS[k]: int(rest.split()[0]) / 1024 for k, _, rest in lines if k in KEYS}
