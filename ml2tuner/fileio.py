"""Safe file operations: an advisory lock per output, atomic file replacement, folder swaps.

Nothing here deletes a good file before its replacement is complete on disk.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import os
import shutil
import tempfile
from pathlib import Path

from .errors import UserError


class FileLock:
    """An exclusive advisory lock (flock) on `path`, held until `release()` or exit.

    A second process asking for it gets a `UserError` at once instead of waiting: two writers
    on one trace would interleave records. The lock dies with its process, so a killed run
    never leaves a stale lock behind.
    """

    def __init__(self, path, what: str = "file"):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(self._fd)
            self._fd = None
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise UserError(f"{what} {self.path} is being written by another ml2tuner "
                                "process; wait for it to finish or choose another file") from None
            raise

    def release(self):
        if self._fd is not None:
            os.close(self._fd)        # closing the descriptor drops the flock
            self._fd = None

    def __del__(self):
        self.release()


def fsync_dir(path) -> None:
    fd = os.open(Path(path), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path, data: bytes) -> None:
    """Write `data` to a temporary file next to `path`, fsync it, then rename it over `path`."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(p.parent)


def atomic_write_text(path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


_RENAME_EXCHANGE = 2     # linux/fs.h


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with renameat2(RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    AT_FDCWD = -100
    rc = fn(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return rc == 0


def replace_dir(new, target) -> None:
    """Put the complete folder `new` in place of `target` (which may exist). Where the kernel
    can swap two paths atomically it does; otherwise the old folder is renamed aside first, so
    at every moment one complete folder exists (at `target` or, for an instant, beside it)."""
    new, target = Path(new), Path(target)
    if target.exists():
        if _exchange(new, target):
            shutil.rmtree(new)            # `new` now holds the old folder
            fsync_dir(target.parent)
            return
        aside = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, aside)
        os.replace(new, target)
        shutil.rmtree(aside)
    else:
        os.replace(new, target)
    fsync_dir(target.parent)


def staging_dir(target) -> Path:
    """A fresh empty folder beside `target`, for building its replacement."""
    t = Path(target)
    t.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=t.parent, prefix=f".{t.name}.new-"))
