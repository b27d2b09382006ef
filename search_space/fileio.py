"""Atomic file writes: a reader never sees a half-written file, a crash never truncates one."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator


def cache_dir() -> Path:
    """`$SPINENAS_CACHE`, else `~/.cache/spinenas`: prepared images, latency measurements and tables."""
    return Path(os.environ.get("SPINENAS_CACHE", Path.home() / ".cache" / "spinenas"))


def refuse_overwrite(paths: Iterable[str | os.PathLike[str]], force: bool, flag: str = "--force") -> None:
    """`ConfigError` naming the first of `paths` that exists, unless `force` (the user said so)."""
    from search_space.errors import ConfigError

    if force:
        return
    for path in map(Path, paths):
        if path.exists():
            raise ConfigError(f"{path} exists; not overwritten (add {flag} to replace it)")


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` to a temp file next to `path`, then rename it over `path`."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to a temp file next to `path`, fsync, then rename it over `path`."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temp path next to `path` for a writer that wants a file name (torch.jit.save, ONNX);
    renamed over `path` when the block ends normally, removed when it raises."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # as a plain open() would create it, not mkstemp's 0600
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
