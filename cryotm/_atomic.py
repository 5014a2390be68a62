"""Write files safely: to a temporary file in the target folder, then into place.

The rules (see the docs' "Trust and safety" page):

- An output is checked before the work (:func:`check_writable`): it must not
  exist unless ``overwrite`` is given, it must be (or become) a regular file
  - a folder, a device node, a pipe or a socket is never replaced - and its
  folder must exist and accept a new file.
- The data go to a temporary file ``.NAME.HOST-PID.XXXX.part`` next to the
  target. A new output is then created *exclusively* (a hard link of the
  temporary file, which fails if the name appeared in the meantime), so a file
  that another process creates between the check and the write is never
  replaced without ``overwrite``. With ``overwrite`` the temporary file is
  renamed onto the target, after checking again that it is a regular file.
- Temporary files left by a killed run of this machine (their process is gone)
  are removed the next time the same output is written.
- :func:`output_set` makes several outputs one set: all are placed, or none.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import InputError

__all__ = [
    "atomic_path",
    "check_writable",
    "check_folder",
    "check_file_name",
    "make_output_folder",
    "output_set",
    "clean_stale_parts",
]

_UMASK = os.umask(0)
os.umask(_UMASK)
_HOST = socket.gethostname().replace(".", "_").replace(os.sep, "_") or "host"

#: The pending (temporary, target, overwrite) triples of the open :func:`output_set`, if any.
_PENDING: contextvars.ContextVar[list[tuple[Path, Path, bool]] | None] = contextvars.ContextVar(
    "cryotm_output_set", default=None
)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _existing(path: Path, overwrite: bool) -> bool:
    """True if `path` exists (and may be replaced); raise if it may not."""
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        raise InputError(f"cannot check the output: {exc.strerror}", path) from None
    if stat.S_ISDIR(mode) and _is_zarr_store(path):  # a folder that is one map (OME-Zarr), replaced as a whole
        if not overwrite:
            raise InputError("output exists; give --overwrite to replace it (overwrite=True in Python)", path)
        return True
    if stat.S_ISDIR(mode):
        raise InputError("is a folder; give a file name inside it (for example "
                         f"{path / 'particles.star'})", path)
    if not stat.S_ISREG(mode):
        raise InputError(f"is {_kind(mode)}, not a regular file; cryotm writes (and --overwrite replaces) "
                         "only regular files", path)
    if not overwrite:
        raise InputError("output exists; give --overwrite to replace it (overwrite=True in Python)", path)
    return True


def _is_zarr_store(path: Path) -> bool:
    return path.suffix.lower() == ".zarr" and any((path / marker).exists() for marker in (".zgroup", "zarr.json"))


def check_folder(folder: str | os.PathLike, what: str | os.PathLike | None = None) -> Path:
    """Check that `folder` is an existing folder in which a new file can be created.

    The check creates (and at once drops) an anonymous file there, so it also
    catches a read-only file system, a full disk's missing inodes and, unlike
    permission bits, applies to root.

    Raises
    ------
    InputError
        Naming `what` (default: the folder) and the reason.
    """
    folder = Path(folder)
    label = what if what is not None else folder
    if not folder.is_dir():
        if folder.exists() or any(p.exists() and not p.is_dir() for p in folder.parents):
            raise InputError(f"{folder} is not a folder (a file is in the way)", label)
        raise InputError(f"output folder {folder} does not exist", label)
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise InputError(f"cannot write in folder {folder}: {exc.strerror}", label) from None
    return folder


def check_file_name(name: str, what: str = "name", source: str | os.PathLike | None = None) -> str:
    """Check that `name` (from a table, a job file, an option) can safely become a file name in a folder.

    A name with a path separator, a ``..`` or ``.``, an absolute path, a NUL
    byte or nothing at all would write outside the output folder or nowhere.

    Raises
    ------
    InputError
        Naming `what` and `source`.

    Examples
    --------
    >>> check_file_name("tomo_01")
    'tomo_01'
    >>> check_file_name("../victim", "tomogram name")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    cryotm.errors.InputError: tomogram name '../victim' cannot be a file name (it must not contain '/', ...
    """
    text = str(name)
    separators = {"/", os.sep, *((os.altsep,) if os.altsep else ())}
    if not text.strip() or text in (".", "..") or "\0" in text or any(sep in text for sep in separators):
        raise InputError(f"{what} {text!r} cannot be a file name (it must not contain '/', be '.' or '..', or be "
                         "empty): outputs are written only inside the output folder", source)
    return text


def make_output_folder(folder: str | os.PathLike) -> Path:
    """Create the output folder `folder` (and its parents) if missing; check that new files can go there.

    Raises
    ------
    InputError
        If a file is in the way or the folder cannot be created or written.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError("is a file, not a folder; give a folder for the outputs", folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InputError("cannot be created: a file is in the way", folder) from None
    except OSError as exc:
        raise InputError(f"cannot create the output folder: {exc.strerror}", folder) from None
    return check_folder(folder)


def check_writable(path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Check that `path` may be written, before any work is done.

    Raises
    ------
    InputError
        If the file exists and `overwrite` is false; if it is a folder, a
        device or anything but a regular file; if its folder is missing, is a
        file, or does not accept new files (read-only, no permission).
    """
    path = Path(path)
    if path.name in ("", ".", ".."):
        raise InputError("is not a file name", path)
    _existing(path, overwrite)
    check_folder(path.parent, path)
    return path


def clean_stale_parts(target: str | os.PathLike) -> list[Path]:
    """Remove the temporary files of `target` left by killed runs on this machine.

    Only files named by :func:`atomic_path` for this target and this host
    whose process no longer runs are removed; another process's file in
    progress is left alone. Returns the removed paths.
    """
    target = Path(target)
    removed = []
    prefix = f".{target.name}.{_HOST}-"
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        if not (entry.name.startswith(prefix) and entry.name.endswith(".part")):
            continue
        pid_text = entry.name[len(prefix):].split(".", 1)[0]
        if not pid_text.isdigit() or _alive(int(pid_text)):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _place(tmp: Path, target: Path, overwrite: bool) -> None:
    """Put `tmp` at `target`: exclusively when new, by rename when replacing a regular file."""
    if _existing(target, overwrite):
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)
    except FileExistsError:
        # created by someone else since the check: replace it only if allowed
        if _existing(target, overwrite):
            os.replace(tmp, target)
            return
        raise  # pragma: no cover - _existing raised already
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EMLINK, errno.EXDEV):
            raise
        # no hard links here (some network or FAT file systems): claim the name exclusively, then rename
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            _existing(target, overwrite)
        os.replace(tmp, target)
        return
    os.unlink(tmp)


def _temporary(target: Path) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{_HOST}-{os.getpid()}.", suffix=".part", dir=target.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual mode
    return Path(tmp)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to `path`; put it at `path` on success.

    If the body raises, the temporary file is removed and `path` is untouched,
    so a failed write never leaves a half-written output. Inside
    :func:`output_set`, the file is placed when the whole set is complete.
    """
    target = check_writable(path, overwrite)
    clean_stale_parts(target)
    tmp_path = _temporary(target)
    pending = _PENDING.get()
    try:
        yield tmp_path
        if pending is not None:
            pending.append((tmp_path, target, overwrite))
            return
        _place(tmp_path, target, overwrite)
    finally:
        if pending is None or not any(tmp_path == p[0] for p in pending):
            with contextlib.suppress(FileNotFoundError):
                tmp_path.unlink()


@contextlib.contextmanager
def output_set() -> Iterator[None]:
    """Make the outputs written inside the block one set: all are placed, or none.

    Every :func:`atomic_path` in the block writes its temporary file as usual;
    the files are put in place when the block ends without error. If the block
    raises, or placing one of them fails, no output of the set is left changed
    (replaced files are restored).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> try:
    ...     with output_set():
    ...         with atomic_path(folder / "a.txt") as tmp:
    ...             _ = tmp.write_text("a")
    ...         raise RuntimeError("the second output failed")
    ... except RuntimeError:
    ...     pass
    >>> sorted(p.name for p in folder.iterdir())
    []
    """
    if _PENDING.get() is not None:  # nested: the outer set decides
        yield
        return
    pending: list[tuple[Path, Path, bool]] = []
    token = _PENDING.set(pending)
    try:
        yield
    except BaseException:
        for tmp, _, _ in pending:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise
    finally:
        _PENDING.reset(token)
    _commit(pending)


def _commit(pending: list[tuple[Path, Path, bool]]) -> None:
    backups: list[tuple[Path, Path]] = []  # (backup, target)
    placed: list[Path] = []
    try:
        for tmp, target, overwrite in pending:
            if _existing(target, overwrite):
                backup = _temporary(target)
                os.replace(target, backup)
                backups.append((backup, target))
            _place(tmp, target, overwrite)
            placed.append(target)
    except BaseException:
        for target in placed:
            with contextlib.suppress(OSError):
                os.unlink(target)
        for backup, target in backups:
            with contextlib.suppress(OSError):
                os.replace(backup, target)
        for tmp, _, _ in pending:
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise
    for backup, _ in backups:
        with contextlib.suppress(OSError):
            backup.unlink()
