"""Controller cost on CPU: time to sample one architecture and to apply one update.

Run: .venv/bin/python benchmarks/controller_cost.py   (R0-SP53 with block adjustments: 70 decisions)
"""

from __future__ import annotations

import json
import statistics
import time

from nas.controller import Controller, ControllerConfig
from search_space import get_space


def main() -> None:
    space = get_space("r0_sp53", block_adjustments=True)
    out = {"space": "r0_sp53+adjustments", "decisions": len(space.decisions)}
    for algorithm in ("reinforce", "ppo"):
        c = Controller(space, ControllerConfig(algorithm=algorithm), seed=0)
        c.sample()  # warm-up
        times = []
        for _ in range(50):
            t = time.perf_counter()
            c.sample()
            times.append(time.perf_counter() - t)
        out[f"{algorithm}_sample_ms"] = round(1000 * statistics.median(times), 2)
        for batch in (1, 4, 16):
            samples = [c.sample() for _ in range(batch)]
            ts = []
            for k in range(10):
                t = time.perf_counter()
                c.update([(s, 0.1 * k) for s in samples])
                ts.append(time.perf_counter() - t)
            out[f"{algorithm}_update_batch{batch}_ms"] = round(1000 * statistics.median(ts), 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
