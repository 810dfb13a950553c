"""Files that are never half-written and never silently trusted.

`atomic_write` is the one writer for results, summaries and sweep metadata: temp file in the same
folder, fsync, rename, fsync of the folder, so a killed process, a power cut or a full disk leaves
either the old file or the new one. `read_json` is the one reader: a damaged file is a
`DamagedFile` that names the path, never a JSON traceback. `check_writable` answers "can this
path be written?" before any work is done, so a bad `--out` never costs a finished result.
`exclusive` lets one process at a time write an output (a sweep folder, an atlas file): a second
writer would work from its own copy and silently replace the first one's rows.
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Type, Union

from filelock import FileLock, Timeout

from .errors import ConfigError

# errors that mean "no room left": a full disk, a quota, a file-size limit (ulimit -f)
NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class DamagedFile(ValueError):
    """A file exists but does not parse (truncated, empty, edited by hand)."""

    def __init__(self, path: Path, why: str):
        super().__init__(f"{path}: damaged ({why})")
        self.path = path


def atomic_write(path: Union[str, Path], data: Union[str, bytes]) -> Path:
    """Write `data` to `path` all at once: temp file + fsync + rename (POSIX-atomic)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")  # writers never share one
    raw = data.encode() if isinstance(data, str) else data
    try:
        with open(tmp, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return path


def fsync_dir(folder: Union[str, Path]) -> None:
    """Make a rename in `folder` durable: without it a power cut can undo the rename."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def no_space(e: BaseException) -> bool:
    """True for an OSError that says the disk (or a quota, or a file-size limit) is full."""
    return isinstance(e, OSError) and e.errno in NO_SPACE


def check_writable(path: Union[str, Path], field: str, folder: bool = False) -> Path:
    """`ConfigError(field)` unless `path` can be written as a file (or, with `folder`, used as a
    folder); the folders it needs are made now. Called before any training, so a bad output
    path costs nothing instead of a finished result."""
    p = Path(path)
    if p.exists() and p.is_dir() != folder:
        want = "folder" if folder else "file; give a file path such as " + str(p / "result.json")
        raise ConfigError(field, f"{path} is a {'folder' if p.is_dir() else 'file'}, not a {want}")
    home = p if folder else p.parent
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(field, f"cannot make {home}: {e.strerror or e}") from None
    # Prove it by writing: `os.access` says yes to root even where nothing can be created (/proc).
    probe = home / f".dssl-write-check.{os.getpid()}.{threading.get_ident()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        raise ConfigError(field, f"cannot write in {home}: {e.strerror or e}") from None
    return p


def write_json(path: Union[str, Path], obj: Any, indent: int = 1) -> Path:
    return atomic_write(path, json.dumps(obj, indent=indent, default=str))


def read_json(path: Union[str, Path], want: type = dict) -> Any:
    """Parse a JSON file that must hold a `want` (default: an object); `DamagedFile` otherwise."""
    path = Path(path)
    try:
        obj = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DamagedFile(path, f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
    if not isinstance(obj, want):
        raise DamagedFile(path, f"expected a JSON {want.__name__}, found {type(obj).__name__}")
    return obj


class InUse(ConfigError):
    """Another process is writing this output (exit 2: give another path, or wait)."""


@contextlib.contextmanager
def exclusive(target: Union[str, Path], lock: Union[str, Path], what: str, field: str = "out",
              error: Type[Exception] = InUse) -> Iterator[None]:
    """Hold `lock` (a file beside or inside `target`) for the whole block, with the holder written
    beside it; a second holder is refused at once with `error` naming the first. Uses the
    `filelock` package (flock on POSIX, msvcrt on Windows): the lock goes with its process, even
    on SIGKILL, so a killed writer never blocks the next one."""
    lock, holder = FileLock(str(lock)), Path(str(lock) + ".holder")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        who = holder.read_text().strip()[:200] if holder.exists() else ""
        message = (f"{target} is in use by another {what} ({who or 'holder unknown'}); wait for it to "
                   f"finish or give another --{field}")
        raise (error(field, message) if issubclass(error, ConfigError) else error(f"{field}: {message}")) from None
    try:
        holder.write_text(f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        yield
    finally:
        lock.release()
