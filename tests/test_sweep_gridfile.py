"""Reading grid files (`sweep/gridfile.py`): duplicate keys, alias bombs, size and encoding."""

import pytest
import yaml

from dssl_lite import sweep as sw
from dssl_lite.config import ConfigError
from helpers import grid_error


# ----- YAML grids -----
def test_duplicate_yaml_keys_are_refused(tmp_path):
    e = grid_error(tmp_path, "preset: tiny\ngrid: {alpha: [0.1]}\ngrid: {alpha: [1.0]}\n")
    assert e.field == "grid" and "lines 2 and 3" in str(e)
    e = grid_error(tmp_path, "preset: tiny\ngrid:\n  seed: [0]\n  alpha: [0.1]\n  seed: [1]\n")
    assert e.field == "seed" and "twice" in str(e)
    e = grid_error(tmp_path, "preset: tiny\ngrid: {seed: [0], seed: [1]}\n")
    assert e.field == "seed" and "lines 2 and 2" in str(e)
    base = "base: &b {seed: [0]}\n"  # a merge key may still be overridden
    assert yaml.load(base + "x:\n  <<: *b\n  seed: [1]\n", Loader=sw.GridLoader)["x"] == {"seed": [1]}


def test_alias_bombs_are_refused_quickly(tmp_path):
    lines = ["a0: &a0 [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]  # 10^9 values
    e = grid_error(tmp_path, "\n".join(["preset: tiny", "parameters:", *("  " + x for x in lines),
                                        "grid: {seed: [0]}"]) + "\n")
    assert e.field == "grid" and "aliases" in str(e)
    e = grid_error(tmp_path, "preset: tiny\ngrid: {seed: &s [0, *s]}\n")
    assert e.field == "grid"


@pytest.mark.parametrize("text, field", [
    ("preset: tiny\ngrid: {seed: [0, 0.0]}\n", "grid"),          # one run written two ways
    ("preset: tiny\ngrid: {alpha: [true]}\n", "alpha"),          # a boolean is not a number
    ("preset: tiny\ngrid: {min_client_size: [1000000000]}\n", "min_client_size"),
    ("preset: tiny\ngrid: {topology: [regular], degree: [1]}\n", "degree"),
    ("preset: tiny\ngrid: {alpha: [" + "x" * 100_000 + "]}\n", "alpha"),
    ("preset: tiny\ngrid: {1: [0]}\n", "grid"), ("preset: [tiny]\ngrid: {seed: [0]}\n", "preset"),
    ("notebook: [x]\ngrid: {seed: [0]}\n", "notebook"), ("grid: {seed: [0]\n", "grid"),
    ("- 1\n- 2\n", "grid"), ("preset: tiny\ngrid: {seed: [" + "9" * 5000 + "]}\n", "grid"),
    ("[" * 5000, "grid"), ("notebook: g.yaml\ngrid: {seed: [0]}\n", "notebook"),  # not a notebook
])
def test_bad_grid_files_are_one_clean_error(tmp_path, text, field):
    e = grid_error(tmp_path, text)
    assert e.field == field and len(str(e)) < 400 and "\n" not in str(e)


def test_grid_file_size_and_encoding_are_checked(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * (sw.gridfile.MAX_GRID_BYTES + 1))
    with pytest.raises(ConfigError, match="at most"):
        sw.load_grid(path)
    path.write_bytes(b"\xff\xfe\x00grid")
    with pytest.raises(ConfigError, match="UTF-8"):
        sw.load_grid(path)
    with pytest.raises(ConfigError, match="not a file"):
        sw.load_grid(tmp_path)


