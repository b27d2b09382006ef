"""The `spinenas train` progress bar: redrawn in place on a terminal, a line per epoch in a log."""

import io

from nas.reporting.progress_bar import ProgressBar
from proxy_tasks.train import StepInfo


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def steps(epochs=2, per_epoch=10):
    total = epochs * per_epoch
    for k in range(1, total + 1):
        yield StepInfo(k, total, (k - 1) // per_epoch + 1, epochs, loss=2.0 - k / total, lr=0.01, images_per_s=30.0)


def test_terminal_bar_redraws_and_ends_each_epoch():
    out = Terminal()
    bar = ProgressBar(out, every_s=0.0)
    for info in steps():
        bar(info)
    text = out.getvalue()
    assert text.count("\r\033[K") == 20 and text.count("\n") == 2  # every step drawn, a newline per epoch
    last = text.rstrip("\n").split("\r\033[K")[-1]
    assert last.startswith("epoch 2/2 [" + "#" * 28 + "] 10/10") and "30.0 img/s" in last
    assert "loss 1.4750" in last  # the mean of the last 20 steps' losses (1.95 .. 1.0)


def test_log_file_gets_a_line_per_epoch_and_messages_stay_whole():
    out = io.StringIO()
    bar = ProgressBar(out, log_every_s=1e9)
    bar.message("[proxy] preparing data")
    for info in steps():
        bar(info)
    lines = out.getvalue().splitlines()
    assert lines[0] == "[proxy] preparing data"
    assert [line.split(" [")[0] for line in lines[1:]] == ["epoch 1/2", "epoch 1/2", "epoch 2/2"]  # first step, then epoch ends
    assert lines[1].endswith("left ?") and "10/10" in lines[2] and "10/10" in lines[3]
