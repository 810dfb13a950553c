"""Files that are never half-written and never silently trusted.

`atomic_write` is the one writer for results, summaries and sweep metadata: temp file in the same
folder, fsync, rename, so a killed process or a full disk leaves either the old file or the new
one. `read_json` is the one reader: a damaged file is a `DamagedFile` that names the path, never
a JSON traceback.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Union


class DamagedFile(ValueError):
    """A file exists but does not parse (truncated, empty, edited by hand)."""

    def __init__(self, path: Path, why: str):
        super().__init__(f"{path}: damaged ({why})")
        self.path = path


def atomic_write(path: Union[str, Path], data: Union[str, bytes]) -> Path:
    """Write `data` to `path` all at once: temp file + fsync + rename (POSIX-atomic)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
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
    return path


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
