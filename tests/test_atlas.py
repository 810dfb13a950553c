"""The atlas (`atlas.py`): a grid built into rows of the runs table, resumable, one build at a time;
a damaged file is refused in one line; `verify` re-runs rows and fails on any difference; the
curves the explorer and notebooks draw."""
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from dssl_lite import atlas, cli, preset
from dssl_lite.config import ConfigError
from helpers import error_lines

GRID = {"preset": "tiny", "seeds": [0, 1], "groups": [{"objective": ["mim"], "alpha": [0.1, 1.0, "iid"]}]}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("atlas") / "tiny.csv"
    atlas.build(GRID, out)
    return out


def test_build_writes_one_row_per_config_and_resumes(built, monkeypatch):
    table = pd.read_csv(built)
    assert len(table) == 6 and table["key"].is_unique
    assert set(table.columns) >= {"key", "accuracy", "iid_accuracy", "robustness", "floor", "engine", "config"}
    iid = table[table["alpha"].isna()]
    assert np.allclose(iid["robustness"], 1.0)  # an IID row is its own baseline
    from dssl_lite import experiment

    monkeypatch.setattr(experiment, "run_many", lambda *a, **k: pytest.fail("trained again"))
    assert len(atlas.build(GRID, built)) == 6  # everything there: nothing trains


def test_expand_validates_before_any_run():
    with pytest.raises(ConfigError) as e:
        atlas.expand({**GRID, "groups": [{"alhpa": [0.1]}]})
    assert e.value.field == "alhpa"
    assert len(atlas.expand(GRID)) == 6


def test_verify_passes_on_identical_rows_and_fails_on_an_altered_one(built, tmp_path, capsys):
    assert cli.main(["atlas", "verify", "--atlas", str(built), "--rows", "2", "--seed", "3"]) == 0
    assert "identical" in capsys.readouterr().out
    table = pd.read_csv(built)
    table.loc[:, "robustness"] += 0.01  # every row altered
    bad = tmp_path / "bad.csv"
    table.to_csv(bad, index=False)
    assert cli.main(["atlas", "verify", "--atlas", str(bad), "--rows", "1"]) == 1
    out = capsys.readouterr().out
    assert "DIFFERS" in out and "rebuild" in out and "another machine" not in out  # no machine file: built here? unknown
    atlas.machine_file(bad).write_text(json.dumps({"machines": [{"cpu": "Some Other CPU", "torch": "2.0"}]}))
    assert cli.main(["atlas", "verify", "--atlas", str(bad), "--rows", "1"]) == 1  # still a difference: exit 1
    out = capsys.readouterr().out
    assert "DIFFERS" in out and "built on another machine (Some Other CPU, torch 2.0" in out


def test_curves_follow_the_setting(built, monkeypatch):
    table = atlas.with_keys(atlas.read(built))
    curve = atlas.curve(table, preset("tiny"), "alpha")
    assert list(curve["x"]) == [0.1, 1.0, np.inf] and (curve["n"] == 2).all()
    assert not len(atlas.curve(table, preset("tiny", objective="cl"), "alpha"))  # not measured
    cfg = json.loads(pd.read_csv(built)["config"].iloc[0])
    assert atlas.setting_key(cfg, ("seed",)) == atlas.setting_key(preset("tiny", **{k: cfg[k] for k in ("alpha",)}), ("seed",))


# ----- one build at a time; a damaged atlas is one line -----
def test_a_second_build_into_the_same_file_is_refused_naming_the_first(tmp_path):
    """Two builds into one CSV at once: the second (a real CLI process, started while the first
    holds the file between its groups) exits 2 naming the first, writes nothing, and the first
    finishes with every row."""
    from dssl_lite import experiment

    experiment.forget()  # the first build must train, so that it has groups to wait between
    spec = {"preset": "tiny", "seeds": [0, 1], "groups": [{"objective": ["mim"], "alpha": [0.1]}]}
    grid, out = tmp_path / "grid.yaml", tmp_path / "tiny.csv"
    grid.write_text(yaml.safe_dump(spec))
    second = []

    def during_the_first(i, n, seconds):
        if i == 1:  # group 1 is written, group 2 still to come: the lock is held
            before = out.read_bytes()
            second.append(subprocess.run([sys.executable, "-m", "dssl_lite.cli", "atlas", "build", str(grid),
                                          "--out", str(out)], capture_output=True, text=True))
            assert out.read_bytes() == before  # the refused build wrote nothing

    table = atlas.build(spec, out, on_group=during_the_first)
    [p] = second
    assert p.returncode == 2, p.stderr
    [line] = error_lines(p.stderr)
    assert "in use by another atlas build" in line and f"pid {os.getpid()}" in line, line
    assert len(table) == 2 and len(pd.read_csv(out)) == 2  # no row lost
    assert len(json.loads(atlas.machine_file(out).read_text())["machines"]) == 1


def _damaged(tmp_path, kind: str):
    """An atlas file damaged in one way -> (path, what the one-line error must say)."""
    good = {"key": "k", "accuracy": 0.5, "iid_accuracy": 0.5, "robustness": 1.0,
            "config": json.dumps(preset("tiny").as_dict())}
    path = tmp_path / f"{kind.replace(' ', '-')}.csv"
    if kind == "binary":
        path.write_bytes(bytes(range(256)) * 8)
    elif kind == "empty":
        path.write_text("")
    elif kind == "wrong columns":
        path.write_text("a,b\n1,2\n")
    elif kind == "broken config":
        pd.DataFrame([{**good, "config": '{"alpha": 0.1,'}]).to_csv(path, index=False)
    elif kind == "nan robustness":
        pd.DataFrame([{**good, "robustness": float("nan")}, {**good, "key": "k2", "robustness": float("nan")}]
                     ).to_csv(path, index=False)
    needle = {"binary": "not a CSV", "empty": "not a CSV", "wrong columns": "no column config",
              "broken config": "config is not a valid config", "nan robustness": "robustness is nan"}[kind]
    return path, needle


DAMAGE = ["binary", "empty", "wrong columns", "broken config", "nan robustness"]


@pytest.mark.parametrize("kind", DAMAGE)
def test_verify_on_a_damaged_atlas_is_one_line_naming_it(kind, tmp_path, capsys):
    path, needle = _damaged(tmp_path, kind)
    assert cli.main(["atlas", "verify", "--atlas", str(path)]) == 2
    [line] = error_lines(capsys.readouterr().err)
    assert str(path) in line and needle in line, line


@pytest.mark.parametrize("kind", DAMAGE)
def test_build_into_a_damaged_atlas_is_refused_before_writing(kind, tmp_path, capsys, monkeypatch):
    from dssl_lite import experiment

    monkeypatch.setattr(experiment, "run_many", lambda *a, **k: pytest.fail("trained into a damaged file"))
    path, needle = _damaged(tmp_path, kind)
    before = path.read_bytes()
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump(GRID))
    assert cli.main(["atlas", "build", str(grid), "--out", str(path)]) == 2
    [line] = error_lines(capsys.readouterr().err)
    assert str(path) in line and needle in line, line
    assert path.read_bytes() == before and not atlas.machine_file(path).exists()


def test_a_damaged_atlas_is_one_line_from_the_command_line_too(tmp_path):
    path, _ = _damaged(tmp_path, "binary")
    p = subprocess.run([sys.executable, "-m", "dssl_lite.cli", "atlas", "verify", "--atlas", str(path)],
                       capture_output=True, text=True)
    assert p.returncode == 2 and len(error_lines(p.stderr)) == 1 and str(path) in p.stderr


def test_a_grid_whose_preset_is_a_list_is_one_line(tmp_path, capsys):
    grid = tmp_path / "grid.yaml"
    grid.write_text(yaml.safe_dump({**GRID, "preset": ["tiny"]}))
    assert cli.main(["atlas", "build", str(grid), "--out", str(tmp_path / "a.csv")]) == 2
    [line] = error_lines(capsys.readouterr().err)
    assert "preset" in line and "['tiny']" in line, line
    assert not (tmp_path / "a.csv").exists()


def test_a_group_whose_workers_die_is_skipped_and_the_build_exits_1(tmp_path, capsys, monkeypatch):
    """Workers that die beyond repair cost their group, not the build: the other groups' rows are
    written, and the exit status and the last line say how many groups to build again."""
    from dssl_lite import experiment
    from dssl_lite.errors import WorkerError

    experiment.forget()
    real, calls = experiment.run_many, []

    def first_group_dies(cfgs, *a, **k):
        calls.append(cfgs)
        if len(calls) == 1:
            raise WorkerError("round 1: worker dssl-worker-0 died during step (exit code -9); gave up after 3 tries")
        return real(cfgs, *a, **k)

    monkeypatch.setattr(experiment, "run_many", first_group_dies)
    spec = {"preset": "tiny", "seeds": [0, 1], "groups": [{"objective": ["mim"], "alpha": [0.1]}]}
    grid, out = tmp_path / "grid.yaml", tmp_path / "tiny.csv"
    grid.write_text(yaml.safe_dump(spec))
    assert cli.main(["atlas", "build", str(grid), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "group 1/2 failed, moving on" in captured.err and "died" in captured.err
    assert "1 group(s) failed" in captured.out and "Traceback" not in captured.err
    assert len(pd.read_csv(out)) == 1  # the second group's row
    monkeypatch.setattr(experiment, "run_many", real)
    assert cli.main(["atlas", "build", str(grid), "--out", str(out)]) == 0  # the build again retries it
    assert len(pd.read_csv(out)) == 2
