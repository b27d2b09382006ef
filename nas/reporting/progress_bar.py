"""A progress bar per epoch for `spinenas train`: steps, loss, images/s and time left.

On a terminal the bar is redrawn in place (at most every `every_s`) and ends each epoch with a
newline; into a log file or pipe it prints a line at the end of each epoch and every `log_every_s`.
Other messages go above the bar without tearing it.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from typing import TextIO

from proxy_tasks.train import StepInfo

WIDTH = 28


class ProgressBar:
    """`on_step` for `ProxyTask.run`; `message` for its log."""

    def __init__(self, stream: TextIO | None = None, every_s: float = 0.2, log_every_s: float = 30.0) -> None:
        self.stream = stream or sys.stderr
        self.tty = is_terminal(self.stream)
        self.every_s, self.log_every_s = every_s, log_every_s
        self.losses: deque[float] = deque(maxlen=20)
        self.drawn_at = 0.0
        self.start: float | None = None
        self.line = ""  # what the bar shows now (redrawn after a message)

    def __call__(self, info: StepInfo) -> None:
        now = time.perf_counter()
        if self.start is None:
            self.start = now
        self.losses.append(info.loss)
        per_epoch = max(1, info.total // info.epochs)
        in_epoch = info.step - (info.epoch - 1) * per_epoch
        end_of_epoch = in_epoch >= per_epoch or info.step == info.total
        due = self.every_s if self.tty else self.log_every_s
        if not end_of_epoch and info.step > 1 and now - self.drawn_at < due:
            return
        self.drawn_at = now
        self.line = self.format(info, min(in_epoch, per_epoch), per_epoch, now - self.start)
        if self.tty:
            self.stream.write("\r\033[K" + self.line + ("\n" if end_of_epoch else ""))
        else:
            self.stream.write(self.line + "\n")
        if end_of_epoch:
            self.line = ""
        self.stream.flush()

    def format(self, info: StepInfo, done: int, per_epoch: int, elapsed: float) -> str:
        filled = int(WIDTH * done / per_epoch)
        left = _mmss(elapsed / (info.step - 1) * (info.total - info.step)) if info.step > 1 else "?"
        loss = sum(self.losses) / len(self.losses)
        return (
            f"epoch {info.epoch}/{info.epochs} [{'#' * filled}{'.' * (WIDTH - filled)}] {done}/{per_epoch} "
            f"loss {loss:.4f} {info.images_per_s:.1f} img/s left {left}"
        )

    def message(self, text: str) -> None:
        """A log line above the bar."""
        if self.tty and self.line:
            self.stream.write("\r\033[K" + text + "\n" + self.line)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def is_terminal(stream: TextIO) -> bool:
    """Whether `stream` is a terminal (redrawn status) rather than a log file or pipe; a closed or
    odd stream counts as a log."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _mmss(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 60}:{s % 60:02d}"
