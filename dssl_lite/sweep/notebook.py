"""A notebook's `parameters` cell: the names and defaults a sweep may set, and their types."""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from ..errors import ConfigError, short
from ..presets import PRESETS


def notebook_parameters(nb_path) -> dict[str, Any]:
    """Names and default values (None when not a literal) of a notebook's `parameters` cell."""
    import nbformat

    try:
        nb = nbformat.read(str(nb_path), as_version=4)
        cell = next((c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
        body = ast.parse(cell.source).body if cell is not None else None
    except Exception as e:  # not JSON, not a notebook, a cell that does not parse: nbformat has many
        raise ConfigError("notebook", f"{nb_path} is not a readable notebook ({type(e).__name__})") from None
    if body is None:
        raise ConfigError("notebook", f"{nb_path} has no cell tagged 'parameters'")
    out = {}
    for node in body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        for t in targets:
            if isinstance(t, ast.Name):
                try:
                    out[t.id] = ast.literal_eval(node.value) if node.value is not None else None
                except (ValueError, TypeError, SyntaxError, RecursionError):  # not a literal
                    out[t.id] = None
    return out


def check_type(key: str, value: Any, default: Any) -> None:
    if default is None:
        return
    kinds = {bool: (bool,), int: (int,), float: (int, float), str: (str,), list: (list, tuple),
             tuple: (list, tuple), dict: (dict,)}
    ok = isinstance(value, kinds.get(type(default), (object,)))
    if type(default) in (int, float) and isinstance(value, bool):
        ok = False
    if not ok:
        raise ConfigError(key, f"got {short(value)}; allowed: a {type(default).__name__} like the default {short(default)}")


def check_values(nb_path: Path, allowed: dict, fixed: dict, grid: dict) -> None:
    """Each notebook key must be in its `parameters` cell, each value of the default's type."""
    for k, vals in [*((k, [v]) for k, v in fixed.items()), *grid.items()]:
        if k not in allowed:
            raise ConfigError(k, f"not a parameter of {nb_path.name}; allowed: {', '.join(allowed)}")
        for v in vals:
            check_type(k, v, allowed[k])
            if k == "preset" and (not isinstance(v, str) or v not in PRESETS):
                raise ConfigError("preset", f"got {short(v)}; allowed: {', '.join(PRESETS)}")


