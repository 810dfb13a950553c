"""Helpers several test files share (a plain module: pytest puts this folder on sys.path)."""
import time
from pathlib import Path

import pytest

TWO_RUNS = {"preset": "tiny", "grid": {"alpha": [0.1, 1.0]}}  # a 2-run engine sweep
TWO_NAMES = ["alpha-0.1", "alpha-1.0"]


def finished(out: Path) -> set:
    """The runs of a sweep folder that have a result."""
    return {p.parent.name for p in out.glob("*/result.json")}


def error_lines(err: str) -> list:
    """The CLI's own error lines (stderr also carries tqdm's progress bar)."""
    assert "Traceback" not in err
    return [line for line in err.splitlines() if line.startswith("dssl-lite: error")]


def grid_error(tmp_path, text: str):
    """The ConfigError `load_grid` raises for a grid file holding `text`, raised in good time."""
    from dssl_lite.config import ConfigError
    from dssl_lite.sweep import load_grid

    path = tmp_path / "g.yaml"
    path.write_text(text)
    t0 = time.perf_counter()
    with pytest.raises(ConfigError) as e:
        load_grid(path)
    # an unguarded alias bomb expands for hours; 60 s is generous even on a loaded 2-core machine
    assert time.perf_counter() - t0 < 60, "refused, but slowly"
    return e.value
