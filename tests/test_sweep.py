"""`dssl-lite sweep`: grids expand, finished runs are never redone, bad grids fail before any run,
failures are recorded, and Ray gives the same numbers as the local executor."""
import json
from pathlib import Path

import pytest

from dssl_lite import cli, sweep as sw
from dssl_lite.config import ConfigError
import yaml

from helpers import error_lines


ROOT = Path(__file__).resolve().parent.parent
GRID = {"preset": "tiny", "parameters": {"objective": "mim"}, "grid": {"alpha": [0.1, 1.0], "seed": [0, 1]}}
NAMES = {"alpha-0.1__seed-0", "alpha-0.1__seed-1", "alpha-1.0__seed-0", "alpha-1.0__seed-1"}


def finished(out: Path) -> set:
    return {p.parent.name for p in out.glob("*/result.json")}


@pytest.fixture
def calls(monkeypatch):
    """Record the name of every run the sweep executes (the real `execute` still runs)."""
    seen, real = [], sw.executors.execute

    def spy(run, notebook_json=None):
        seen.append(run["name"])
        return real(run, notebook_json)

    monkeypatch.setattr(sw.executors, "execute", spy)
    return seen


def test_sweep_runs_every_point_and_skips_finished(tmp_path, calls):
    res = sw.sweep(GRID, tmp_path, progress=False)
    assert (res["ran"], res["skipped"], res["failed"]) == (4, 0, [])
    assert finished(tmp_path) == NAMES
    table = res["table"]
    assert len(table) == 4 and set(table["status"]) == {"ok"}
    assert (tmp_path / "summary.csv").exists() and (tmp_path / "summary_robustness.png").exists()
    one = json.loads((tmp_path / "alpha-0.1__seed-1" / "result.json").read_text())
    assert one["config"]["alpha"] == 0.1 and one["config"]["seed"] == 1 and 0 < one["robustness"] < 2
    kept = (tmp_path / "alpha-1.0__seed-0" / "result.json").read_bytes()

    import shutil

    shutil.rmtree(tmp_path / "alpha-0.1__seed-1")
    calls.clear()
    res = sw.sweep(GRID, tmp_path, progress=False)
    assert calls == ["alpha-0.1__seed-1"] and (res["ran"], res["skipped"]) == (1, 3)
    assert (tmp_path / "alpha-1.0__seed-0" / "result.json").read_bytes() == kept
    calls.clear()
    assert sw.sweep(GRID, tmp_path, progress=False)["ran"] == 0 and calls == []


def test_killed_sweep_restarts_where_it_stopped(tmp_path, monkeypatch):
    real, seen = sw.executors.execute, []

    def dies_on_third(run, notebook_json=None):
        if len(seen) == 2:
            raise KeyboardInterrupt  # killed in the middle of run 3
        seen.append(run["name"])
        return real(run, notebook_json)

    monkeypatch.setattr(sw.executors, "execute", dies_on_third)
    with pytest.raises(KeyboardInterrupt):
        sw.sweep(GRID, tmp_path, progress=False)
    assert finished(tmp_path) == set(seen) and len(seen) == 2
    (tmp_path / ".tmp-alpha-1.0__seed-1-x").mkdir()  # scratch of a run killed while being written
    (tmp_path / ".tmp-alpha-1.0__seed-1-x" / "result.json").write_text("{half")

    again = []
    monkeypatch.setattr(sw.executors, "execute", lambda run, nb=None: again.append(run["name"]) or real(run, nb))
    res = sw.sweep(GRID, tmp_path, progress=False)
    assert sorted(again) == sorted(NAMES - set(seen)) and res["skipped"] == 2
    assert finished(tmp_path) == NAMES and not list(tmp_path.glob(".tmp-*"))


@pytest.mark.parametrize("grid, field", [
    ({"preset": "tiny", "grid": {"alpha": [0.1], "bogus": [1]}}, "bogus"),
    ({"preset": "tiny", "parameters": {"colour": "red"}, "grid": {"seed": [0]}}, "colour"),
    ({"preset": "tiny", "grid": {"seed": [0, 1], "alpha": [0.1, -1]}}, "alpha"),
    ({"preset": "tiny", "grid": {"topology": ["fl", "hypercube"]}}, "topology"),
    ({"preset": "nope", "grid": {"seed": [0]}}, "preset"),
    ({"preset": "tiny", "grid": {}}, "grid"),
    ({"preset": "tiny"}, "grid"),
    ({"preset": "tiny", "grid": {"seed": []}}, "seed"),
    ({"preset": "tiny", "grid": {"seed": [0]}, "extra": 1}, "extra"),
    ({"preset": "tiny", "grid": {"seed": [0, 0.0]}}, "grid"),       # one run written two ways
    ({"preset": "tiny", "grid": {"alpha": [True]}}, "alpha"),       # a boolean is not a number
    ({"preset": "tiny", "grid": {"seed": list(range(101)), "rounds": list(range(1, 101))}}, "grid"),  # > cap
])
def test_bad_grid_fails_before_any_run(tmp_path, monkeypatch, grid, field):
    monkeypatch.setattr(sw.executors, "execute", lambda *a: pytest.fail("a run started"))
    with pytest.raises(ConfigError) as e:
        sw.sweep(grid, tmp_path / "out", progress=False)
    assert e.value.field == field and field in str(e.value)
    assert not (tmp_path / "out").exists()


def test_cli_bad_grid_exits_2_naming_the_key(tmp_path, capsys):
    g = tmp_path / "g.yaml"
    g.write_text("preset: tiny\ngrid: {alpha: [0.1], learning_rate: [0.1]}\n")
    assert cli.main(["sweep", str(g), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "learning_rate" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_notebook_grid_checked_against_parameters_cell(tmp_path):
    nb = str(ROOT / "notebooks" / "01_non_iid_data.ipynb")
    assert "quick" in sw.notebook.notebook_parameters(nb) and "output_dir" in sw.notebook.notebook_parameters(nb)
    for grid, field in [({"grid": {"nonsense": [1]}}, "nonsense"),
                        ({"parameters": {"quick": "yes"}, "grid": {"seeds": [[0]]}}, "quick"),
                        ({"grid": {"preset": ["tiny", "huge"]}}, "preset")]:
        with pytest.raises(ConfigError) as e:
            sw.load_grid({"notebook": nb, **grid})
        assert e.value.field == field
    with pytest.raises(ConfigError) as e:
        sw.load_grid({"notebook": "notebooks/missing.ipynb", "grid": {"quick": [True]}})
    assert e.value.field == "notebook"


def test_failed_run_is_recorded_and_others_finish(tmp_path):
    # 4 clients x 1100 images > the 4,000 training images: valid config, fails when partitioning
    grid = {"preset": "tiny", "grid": {"min_client_size": [10, 1100, 20]}}
    res = sw.sweep(grid, tmp_path, progress=False)
    assert res["failed"] == ["min_client_size-1100"] and res["ran"] == 3
    assert finished(tmp_path) == {"min_client_size-10", "min_client_size-20"}
    err = json.loads((tmp_path / "min_client_size-1100" / "error.json").read_text())
    assert "min_client_size" in err["message"]
    table = res["table"].set_index("run")
    assert table.loc["min_client_size-1100", "status"] == "failed"
    assert cli.main(["report", str(tmp_path)]) == 0


def test_notebook_run_through_papermill(tmp_path):
    """One real notebook (no training), executed by papermill with quick=True."""
    grid = {"notebook": str(ROOT / "notebooks" / "01_non_iid_data.ipynb"),
            "parameters": {"quick": True}, "grid": {"preset": ["tiny"]}}
    res = sw.sweep(grid, tmp_path, progress=False)
    assert res["failed"] == [], res["table"].get("error")
    run = tmp_path / "preset-tiny"
    out = json.loads((run / "result.json").read_text())
    assert out["parameters"]["quick"] is True and "heterogeneity" in out["conclusion"]
    assert (run / "notebook.ipynb").exists() and (run / "summary.csv").exists()
    assert "spearman_alpha_heterogeneity" in res["table"].columns


def test_ray_executor_matches_local(tmp_path):
    ray = pytest.importorskip("ray", reason="ray is not installed")
    del ray
    grid = {"preset": "tiny", "grid": {"alpha": [0.1, 1.0]}}
    local = sw.sweep(grid, tmp_path / "local", progress=False)["table"].set_index("run")
    try:
        remote = sw.sweep(grid, tmp_path / "ray", executor="ray", workers=2, num_cpus=1,
                          progress=False)["table"].set_index("run")
    except sw.RayStartError as e:  # Ray's own startup, not our code (ray-project/ray#65983)
        pytest.skip(f"local Ray could not start on this machine: {e}")
    assert set(remote["status"]) == {"ok"} and len(remote) == 2
    for col in ("accuracy", "iid_accuracy", "robustness", "heterogeneity"):
        assert remote[col].to_dict() == pytest.approx(local[col].to_dict(), abs=2e-3), col


@pytest.mark.parametrize("flags, field", [
    (["--workers", "0"], "workers"), (["--num-cpus", "-1"], "num_cpus"), (["--num-gpus", "-1"], "num_gpus"),
    (["--max-runs", "1"], "grid"), (["--max-runs", "0"], "max_runs"),
])
def test_bad_sweep_flags_fail_before_any_run(flags, field, tmp_path, capsys):
    grid = tmp_path / "g.yaml"
    grid.write_text(yaml.safe_dump(GRID))
    assert cli.main(["sweep", str(grid), "--out", str(tmp_path / "out"), *flags]) == 2
    (line,) = error_lines(capsys.readouterr().err)
    assert f"error: {field}:" in line and not (tmp_path / "out").exists()
