"""The sweep folder (`sweep/store.py`): damaged runs re-run exactly, one sweep per folder (a
portable lock naming its holder), a full disk stops the sweep and keeps every finished run."""
import errno
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from dssl_lite import cli, sweep as sw
from dssl_lite.results import Result
from helpers import TWO_NAMES, TWO_RUNS, error_lines, finished


@pytest.fixture
def calls(monkeypatch):
    """Names of the runs the sweep executes (the real `execute` still runs)."""
    seen, real = [], sw.executors.execute
    monkeypatch.setattr(sw.executors, "execute", lambda run, nb=None: seen.append(run["name"]) or real(run, nb))
    return seen


DAMAGE = {"empty": lambda text: "", "truncated": lambda text: text[: len(text) // 2],
          "a list": lambda text: "[]", "no metrics": lambda text: '{"config": {}}',
          "another run's": lambda text: '{"name": "alpha-1.0", "params": {}}'}


@pytest.fixture(scope="module")
def done_sweep(tmp_path_factory):
    """A finished 2-run sweep, copied by each test that damages it (trained once)."""
    out = tmp_path_factory.mktemp("done")
    assert sw.sweep(TWO_RUNS, out, progress=False)["failed"] == []
    return out


@pytest.fixture
def swept(done_sweep, tmp_path):
    out = tmp_path / "sweep"
    shutil.copytree(done_sweep, out)
    return out


@pytest.mark.parametrize("file, how", [("result.json", "empty"), ("result.json", "truncated"),
                                       ("result.json", "a list"), ("result.json", "no metrics"),
                                       ("run.json", "empty"), ("run.json", "truncated"),
                                       ("run.json", "another run's")])
def test_resume_reruns_exactly_the_damaged_run(swept, calls, file, how, capsys):
    bad, good = swept / TWO_NAMES[0] / file, swept / TWO_NAMES[1] / "result.json"
    kept = good.read_bytes()
    bad.write_text(DAMAGE[how](bad.read_text()))
    res = sw.sweep(TWO_RUNS, swept, progress=False)
    assert calls == [TWO_NAMES[0]] and res["damaged"] == [TWO_NAMES[0]] and (res["ran"], res["skipped"]) == (1, 1)
    assert f"{TWO_NAMES[0]} is damaged" in capsys.readouterr().err
    assert Result.load(swept / TWO_NAMES[0] / "result.json").config["alpha"] == 0.1
    assert good.read_bytes() == kept
    (aside,) = (swept / ".damaged").iterdir()
    assert aside.name.startswith(TWO_NAMES[0]) and (aside / file).exists()
    assert set(res["table"]["status"]) == {"ok"} and cli.main(["report", str(swept)]) == 0


@pytest.mark.parametrize("file, data", [
    ("alpha-0.1/result.json", b""), ("alpha-0.1/result.json", b'{"accuracy": 0.'),
    ("alpha-0.1/result.json", b"[1, 2]"), ("alpha-0.1/result.json", b"\xff\xfe\x00"),
    ("alpha-0.1/run.json", b""), ("alpha-0.1/run.json", b'{"name": "al'),
    ("sweep.json", b""), ("sweep.json", b'{"axes": ['),
])
def test_report_lists_damaged_runs_and_completes(swept, file, data, capsys):
    (swept / file).write_bytes(data)
    assert cli.main(["report", str(swept)]) == 0
    out, err = capsys.readouterr()
    assert "Traceback" not in err and TWO_NAMES[1] in out
    if file.startswith("alpha-0.1"):
        assert f"damaged, skipped: {TWO_NAMES[0]}" in err
    (swept / "alpha-1.0" / "error.json").write_text("{")  # a failed run's record, damaged
    (swept / "alpha-1.0" / "result.json").unlink()
    assert cli.main(["report", str(swept)]) == 0


# ----- one sweep per folder -----
def test_second_sweep_on_a_folder_refuses_naming_the_holder(tmp_path, monkeypatch):
    inside, release, seen, res = threading.Event(), threading.Event(), [], {}
    real = sw.executors.execute

    def gated(run, nb=None):
        seen.append(run["name"])
        inside.set()
        assert release.wait(60)
        return real(run, nb)

    monkeypatch.setattr(sw.executors, "execute", gated)
    first = threading.Thread(target=lambda: res.update(first=sw.sweep(TWO_RUNS, tmp_path, progress=False)))
    first.start()
    try:
        assert inside.wait(60)
        with pytest.raises(sw.SweepLocked) as e:
            sw.sweep(TWO_RUNS, tmp_path, progress=False)
        assert f"pid {os.getpid()} on {socket.gethostname()}" in str(e.value)
    finally:
        release.set()
        first.join(120)
    assert sorted(seen) == TWO_NAMES and res["first"]["ran"] == 2 and finished(tmp_path) == set(TWO_NAMES)
    assert sw.sweep(TWO_RUNS, tmp_path, progress=False)["ran"] == 0  # the lock went with the first sweep


GATED = """
import sys, time
from pathlib import Path
from dssl_lite import cli
from dssl_lite.sweep import executors as sw_ex
gate, log = Path(sys.argv[1]), Path(sys.argv[2])
real = sw_ex.execute
def gated(run, nb=None):
    while not gate.exists():
        time.sleep(0.05)
    with open(log, "a") as f:
        f.write(run["name"] + "\\n")
    return real(run, nb)
sw_ex.execute = gated
sys.exit(cli.main(sys.argv[3:]))
"""


def test_two_sweep_processes_on_one_folder(tmp_path):
    grid, out, gate, log = tmp_path / "g.yaml", tmp_path / "out", tmp_path / "gate", tmp_path / "log"
    grid.write_text(yaml.safe_dump(TWO_RUNS))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen([sys.executable, "-c", GATED, str(gate), str(log), "sweep", str(grid),
                              "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        end = time.monotonic() + 120
        while f"pid {first.pid} " not in ((out / ".lock.holder").read_text() if (out / ".lock.holder").exists() else ""):
            assert first.poll() is None and time.monotonic() < end, first.communicate()
            time.sleep(0.1)
        second = subprocess.run([sys.executable, "-m", "dssl_lite.cli", "sweep", str(grid), "--out", str(out)],
                                capture_output=True, text=True, env=env, timeout=120)
        assert second.returncode == 1
        (line,) = error_lines(second.stderr)
        assert "in use by another sweep" in line and f"pid {first.pid}" in line
    finally:
        gate.touch()
        stdout, stderr = first.communicate(timeout=180)
    assert first.returncode == 0, stderr
    assert sorted(log.read_text().split()) == TWO_NAMES and finished(out) == set(TWO_NAMES)  # each run once


# ----- a full disk -----
def test_full_disk_stops_the_sweep_and_keeps_finished_runs(tmp_path, monkeypatch, capsys):
    grid = tmp_path / "g.yaml"
    grid.write_text("preset: tiny\ngrid: {alpha: [0.1, 1.0], seed: [0, 1]}\n")
    out, real, written = tmp_path / "out", sw.store.write_json, []

    def full_at_third_run(path, obj, indent=1):
        if Path(path).name == "run.json":
            written.append(path)
            if len(written) >= 3:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, obj, indent)

    monkeypatch.setattr(sw.store, "write_json", full_at_third_run)
    assert cli.main(["sweep", str(grid), "--out", str(out)]) == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert "no space left" in line and "2 of 4 runs finished and kept" in line
    assert len(finished(out)) == 2 and not list(out.glob(".tmp-*")) and not list(out.glob("*/error.json"))
    for name in finished(out):
        Result.load(out / name / "result.json")
    assert json.loads((out / "sweep.json").read_text())["axes"] == ["alpha", "seed"]
    monkeypatch.undo()
    res = sw.sweep(grid, out, progress=False)
    assert (res["ran"], res["skipped"], res["failed"]) == (2, 2, [])


def test_full_disk_inside_a_run_stops_the_sweep(tmp_path, monkeypatch):
    real, saved = Result.save, []

    def full_on_second(self, path):
        saved.append(path)
        if len(saved) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(self, path)

    monkeypatch.setattr(Result, "save", full_on_second)
    with pytest.raises(sw.DiskFull, match="1 of 2 runs finished"):
        sw.sweep(TWO_RUNS, tmp_path, progress=False)
    assert finished(tmp_path) == {TWO_NAMES[0]} and not (tmp_path / TWO_NAMES[1]).exists()


