"""Write files atomically: to a temporary file in the target folder, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import InputError

__all__ = ["atomic_path", "check_writable"]

_UMASK = os.umask(0)
os.umask(_UMASK)


def check_writable(path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Check that `path` may be written.

    Raises
    ------
    InputError
        If the file exists and `overwrite` is false, or its folder is missing.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise InputError("output exists; give --overwrite to replace it (overwrite=True in Python)", path)
    if not path.parent.exists():
        raise InputError(f"output folder {path.parent} does not exist", path)
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to `path`; rename it onto `path` on success.

    If the body raises, the temporary file is removed and `path` is untouched,
    so a failed write never leaves a half-written output.
    """
    target = check_writable(path, overwrite)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual mode
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
