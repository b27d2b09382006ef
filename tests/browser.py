"""Headless Chromium (Debian's `chromium`) for checks of report.html: the DOM after scripts ran,
and screenshots. The flags keep it off the network and away from any profile."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
)  # fmt: skip


def chromium() -> str | None:
    """The Chromium binary, or None where it is not installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(url: str, *args: str, timeout: float = 120) -> str:
    binary = chromium()
    if binary is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        proc = subprocess.run(
            [binary, *FLAGS, f"--user-data-dir={profile}", *args, url], capture_output=True, text=True, timeout=timeout
        )
    if proc.returncode != 0:
        raise RuntimeError(f"chromium exited {proc.returncode}: {proc.stderr[-500:]}")
    return proc.stdout


def page_state(path: Path, fragment: str = "") -> tuple[str, bool, str]:
    """(DOM after the page's scripts ran, whether its script finished, JavaScript errors seen)."""
    dom = _run(path.resolve().as_uri() + fragment, "--dump-dom")
    root = re.search(r"<html[^>]*>", dom)
    tag = root.group(0) if root else ""
    errors = re.search(r'data-js-errors="([^"]*)"', tag)
    return dom, 'data-ready="1"' in tag, errors.group(1) if errors else ""


def screenshot(path: Path, png: Path, width: int = 1280, height: int = 2000) -> None:
    """A PNG of the page at `width` x `height` CSS pixels."""
    _run(path.resolve().as_uri(), f"--window-size={width},{height}", f"--screenshot={png.resolve()}")
