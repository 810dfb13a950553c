"""Reading a grid file safely: YAML's safe loader, plus refusals a plain loader lacks.

A key given twice is an error (plain YAML keeps the last one silently); a document whose aliases
stand for more than MAX_NODES values is refused before anything is built (a ten-line "billion
laughs" file otherwise expands for hours); a file over MAX_GRID_BYTES, not UTF-8, or nested too
deeply is one clean `ConfigError`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError

MAX_NODES = 100_000         # YAML values a grid file may stand for, each alias counted every time it is used
MAX_GRID_BYTES = 1 << 20    # a grid is a few lines: a bigger file is a mistake


class GridLoader(yaml.SafeLoader):
    """YAML's safe loader, stricter: a key given twice is an error (plain YAML keeps the last one
    silently), and a document whose aliases stand for more than MAX_NODES values is refused
    before anything is built (a ten-line "billion laughs" file otherwise expands for hours)."""

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None:
            _expanded_size(node, {}, set())
        return node

    def construct_mapping(self, node, deep=False):
        first: dict = {}  # key -> the line it was first given on
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` may be overridden: allowed
                continue
            key, line = self.construct_object(key_node, deep=True), key_node.start_mark.line + 1
            try:
                if key in first:
                    raise ConfigError(str(key), f"given twice in the grid file (lines {first[key]} and "
                                      f"{line}); YAML would keep only the last: remove one")
                first[key] = line
            except TypeError:  # unhashable: SafeLoader names that error itself
                continue
        return super().construct_mapping(node, deep)


def _expanded_size(node, memo: dict, path: set) -> int:
    """How many values `node` stands for with every alias expanded; memoised per node, so the
    cost is linear in the file. ConfigError as soon as it passes MAX_NODES or contains itself."""
    if id(node) in memo:
        return memo[id(node)]
    if id(node) in path:
        raise ConfigError("grid", f"an alias contains itself (line {node.start_mark.line + 1})")
    path.add(id(node))
    children = (node.value if isinstance(node, yaml.SequenceNode) else
                [n for kv in node.value for n in kv] if isinstance(node, yaml.MappingNode) else [])
    size = 1
    for child in children:
        size += _expanded_size(child, memo, path)
        if size > MAX_NODES:
            raise ConfigError("grid", f"its aliases expand to more than {MAX_NODES:,} values (from line "
                              f"{node.start_mark.line + 1}); refused")
    path.discard(id(node))
    memo[id(node)] = size
    return size


def read_grid(path) -> Any:
    """A grid file's YAML, read with `GridLoader`; every problem is a one-line ConfigError."""
    path = Path(path)
    if not path.exists():
        raise ConfigError("grid", f"no such file: {path}")
    if not path.is_file():
        raise ConfigError("grid", f"{path} is not a file")
    if path.stat().st_size > MAX_GRID_BYTES:
        raise ConfigError("grid", f"{path} is {path.stat().st_size:,} bytes; a grid file is at most "
                          f"{MAX_GRID_BYTES:,}")
    try:
        return yaml.load(path.read_text(), Loader=GridLoader)
    except ConfigError:
        raise
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        why = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError("grid", f"{path} is not valid YAML: {why}"
                          + (f" (line {mark.line + 1})" if mark else "")) from None
    except UnicodeDecodeError:
        raise ConfigError("grid", f"{path} is not UTF-8 text") from None
    except RecursionError:
        raise ConfigError("grid", f"{path} nests too deeply") from None
    except ValueError as e:  # e.g. an integer of 5,000 digits
        raise ConfigError("grid", f"{path}: {str(e)[:80]}") from None


