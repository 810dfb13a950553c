"""Grids (`sweep/grid.py`): runs are counted and capped before anything is expanded."""
import pytest
import yaml

from dssl_lite import sweep as sw
from dssl_lite.config import ConfigError
from helpers import grid_error


def test_runs_are_counted_and_capped_before_expansion(tmp_path, capsys):
    axes = {k: list(range(40)) for k in ("seed", "rounds", "local_steps", "knn_k", "batch_size")}
    e = grid_error(tmp_path, yaml.safe_dump({"preset": "tiny", "grid": axes}))
    assert e.field == "grid" and "102,400,000 runs" in str(e) and "--max-runs" in str(e)
    grid = tmp_path / "three.yaml"
    grid.write_text("preset: tiny\ngrid: {seed: [0, 1, 2]}\n")
    assert len(sw.load_grid(grid, max_runs=3)["runs"]) == 3
    with pytest.raises(ConfigError, match="3 runs"):
        sw.load_grid(grid, max_runs=2)


