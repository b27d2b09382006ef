"""A search's own TensorBoard scalars, in `<run>/tensorboard/`.

Per-trial curves (training loss against steps, AP at rungs and at the end) are written by Ray
Tune's own TensorBoard logger into each trial's folder under `<run>/tune/` (or `ray.storage_path`);
this adds what only the driver knows: reward and best reward per completion, and the controller's
mean reward, entropy, loss and baseline per update. `tensorboard --logdir results/<run>` shows both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from nas.reporting.run_folder import Row

SCALARS = ("AP", "AP50", "flops", "params", "entropy")  # per completion, besides reward and best


class SearchScalars:
    """Writes search and controller scalars with tensorboardX (a dependency of ray[tune])."""

    def __init__(self, run_dir: Path, updates_done: int = 0) -> None:
        from tensorboardX import SummaryWriter

        self.writer = SummaryWriter(str(Path(run_dir) / "tensorboard"), flush_secs=10)
        self.updates_logged = updates_done  # a resumed search does not log old updates again

    def log(self, row: Row, best: Row | None, history: Sequence[dict[str, Any]] = ()) -> None:
        """One completion (x = its number), and the controller updates since the last call."""
        w, n = self.writer, row.number
        w.add_scalar("search/reward", row.reward, n)
        if best is not None:
            w.add_scalar("search/best_reward", best.reward, n)
        for key in SCALARS:
            try:
                w.add_scalar(f"trial/{key}", float(row.values.get(key, "")), n)
            except (TypeError, ValueError):
                pass  # a failed trial has no AP; a searcher without a policy no entropy
        self.log_updates(history)

    def log_updates(self, history: Sequence[dict[str, Any]]) -> None:
        """Controller updates not written yet (x = completions learnt)."""
        for k, update in enumerate(history[self.updates_logged :], self.updates_logged + 1):
            x = int(update.get("completions", k))
            for key in ("mean_reward", "entropy", "loss", "baseline"):
                if isinstance(update.get(key), (int, float)):
                    self.writer.add_scalar(f"controller/{key}", float(update[key]), x)
        self.updates_logged = len(history)

    def close(self) -> None:
        self.writer.close()
