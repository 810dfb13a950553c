"""Reliability and security (issue 11): every bad input is one clean line, sweeps survive damaged
files, a second sweep on the same folder and a full disk, a local Ray listens on 127.0.0.1 only,
and the explorer's worker survives a failing listener and can be closed."""
import errno
import json
import math
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from dssl_lite import cli, sweep as sw
from dssl_lite.config import FIELD_NAMES, Config, ConfigError, from_dict, preset
from dssl_lite.results import Result

GRID = {"preset": "tiny", "grid": {"alpha": [0.1, 1.0]}}
NAMES = ["alpha-0.1", "alpha-1.0"]
FUZZ = settings(max_examples=150, deadline=None)


def finished(out: Path) -> set:
    return {p.parent.name for p in out.glob("*/result.json")}


def error_lines(err: str) -> list:
    """The CLI's own error lines (stderr also carries tqdm's progress bar)."""
    assert "Traceback" not in err
    return [line for line in err.splitlines() if line.startswith("dssl-lite: error")]


@pytest.fixture
def calls(monkeypatch):
    """Names of the runs the sweep executes (the real `execute` still runs)."""
    seen, real = [], sw.execute
    monkeypatch.setattr(sw, "execute", lambda run, nb=None: seen.append(run["name"]) or real(run, nb))
    return seen


@pytest.fixture(scope="module")
def done_sweep(tmp_path_factory):
    """A finished 2-run sweep, copied by each test that damages it (trained once)."""
    out = tmp_path_factory.mktemp("done")
    assert sw.sweep(GRID, out, progress=False)["failed"] == []
    return out


@pytest.fixture
def swept(done_sweep, tmp_path):
    out = tmp_path / "sweep"
    shutil.copytree(done_sweep, out)
    return out


# ----- every input: accepted, or a ConfigError naming a real field -----
VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(-10**400, 10**400),
                   st.floats(), st.text(max_size=300), st.sampled_from(["iid", "inf", ".inf", "nan", "1e400",
                                                                        "ring", "regular", "cl", "0", "-1"]),
                   st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
KEYS = st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=70))


def assert_clean(e: ConfigError, allowed: set) -> None:
    """One short line that names a real field (or says the key it names is unknown)."""
    assert e.field in allowed or e.message.startswith("unknown field"), e
    assert "\n" not in str(e) and len(str(e)) < 700, str(e)[:200]


@FUZZ
@given(d=st.one_of(st.dictionaries(KEYS, VALUES, max_size=6), st.none(), st.integers(), st.text(max_size=5),
                   st.lists(st.integers(), max_size=2), st.dictionaries(st.integers(), st.integers(), max_size=2)))
def test_any_config_dict_is_accepted_or_names_a_field(d):
    try:
        cfg = from_dict(d)
    except ConfigError as e:
        assert_clean(e, set(FIELD_NAMES) | {"config"})
    else:
        assert isinstance(cfg, Config) and from_dict(cfg.as_dict()) == cfg


@FUZZ
@given(sets=st.lists(st.one_of(st.text(max_size=40),
                               st.builds(lambda k, v: f"{k}={v}", st.sampled_from(FIELD_NAMES),
                                         st.one_of(st.text(max_size=20), VALUES.map(str)))), max_size=4))
def test_any_set_strings_are_accepted_or_name_a_field(sets):
    try:
        cfg = cli.resolve_config("tiny", {}, sets)
    except ConfigError as e:
        assert_clean(e, set(FIELD_NAMES) | {"config", "set"})
    else:
        assert isinstance(cfg, Config)


def test_infinity_means_iid_everywhere(tmp_path):
    g = tmp_path / "g.yaml"
    g.write_text("preset: tiny\ngrid: {alpha: [.inf, 0.1]}\n")
    assert sw.load_grid(g)["runs"][0]["params"]["alpha"] == math.inf
    assert sw._engine_config(sw.load_grid(g)["runs"][0]["params"]).alpha is None
    assert from_dict({"alpha": float("inf")}).alpha is None and Config(alpha=float("inf")).alpha is None
    assert cli.resolve_config("tiny", {"alpha": "inf"}, []).alpha is None
    assert preset("tiny", alpha=math.inf).iid


@pytest.mark.parametrize("changes, field", [
    (dict(alpha=True), "alpha"), (dict(seed=False), "seed"), (dict(min_client_size=10**9), "min_client_size"),
    (dict(topology="regular", degree=1, clients=4), "degree"),
    (dict(topology="erdos_renyi", degree=1, clients=40), "degree"),
])
def test_wrongly_accepted_values_are_now_refused(changes, field):
    with pytest.raises(ConfigError) as e:
        from_dict(changes)
    assert e.value.field == field


def test_a_huge_bad_value_is_shortened_in_the_message(tmp_path, capsys):
    assert cli.main(["run", "--preset", "tiny", "--set", "lr=" + "x" * 1_000_000]) == 2
    (line,) = error_lines(capsys.readouterr().err)
    assert "lr" in line and len(line) < 200
    with pytest.raises(ConfigError) as e:
        from_dict({"k" * 10_000: 1})
    assert len(str(e.value)) < 700
    with pytest.raises(ConfigError, match="too long to show"):  # no repr past 4,300 digits
        from_dict({"seed": 10**5000})


# ----- the CLI: bad values and output paths answer before any work -----
@pytest.mark.parametrize("argv, field", [
    (["reproduce", "--finding", "x"], "finding"), (["reproduce", "--alphas", "x"], "alphas"),
    (["reproduce", "--seeds", "0"], "seeds"), (["reproduce", "--threads", "0"], "threads"),
    (["reproduce", "--merge", "no-such-folder"], "merge"), (["bench", "--clients", "a,b"], "clients"),
    (["demo", "--seeds", "0"], "seeds"), (["run", "--set", "=1"], "set"),
])
def test_bad_cli_values_are_one_line(argv, field, capsys):
    assert cli.main(argv) == 2
    (line,) = error_lines(capsys.readouterr().err)
    assert f"error: {field}:" in line


def test_output_paths_are_checked_before_training(tmp_path, monkeypatch, capsys):
    from dssl_lite import experiment, findings

    monkeypatch.setattr(experiment, "run", lambda *a, **k: pytest.fail("trained"))
    monkeypatch.setattr(findings, "measure", lambda *a, **k: pytest.fail("trained"))
    a_file = tmp_path / "file"
    a_file.write_text("x")
    grid = tmp_path / "g.yaml"
    grid.write_text(yaml.safe_dump(GRID))
    for argv in (["run", "--preset", "tiny", "--out", str(tmp_path)],
                 ["run", "--preset", "tiny", "--out", str(a_file / "result.json")],
                 ["sweep", str(grid), "--out", str(a_file)],
                 ["sweep", str(grid), "--out", str(a_file / "sub")],
                 ["reproduce", "--finding", "1", "--seeds", "1", "--out", str(a_file)]):
        assert cli.main(argv) == 2, argv
        (line,) = error_lines(capsys.readouterr().err)
        assert "error: out:" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "g.yaml"]  # no stray DIR.tmp


@pytest.mark.skipif(not Path("/proc/version").is_file(), reason="needs Linux's /proc")
def test_an_unwritable_out_is_refused_before_training_even_as_root(monkeypatch, capsys):
    """`os.access` says yes to root in /proc, where nothing can be created: the check writes."""
    from dssl_lite import experiment

    monkeypatch.setattr(experiment, "run", lambda *a, **k: pytest.fail("trained"))
    assert cli.main(["run", "--preset", "tiny", "--out", "/proc/version"]) == 2
    (line,) = error_lines(capsys.readouterr().err)
    assert "error: out: cannot write in /proc" in line


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


# ----- YAML grids -----
def grid_error(tmp_path, text: str) -> ConfigError:
    path = tmp_path / "g.yaml"
    path.write_text(text)
    t0 = time.perf_counter()
    with pytest.raises(ConfigError) as e:
        sw.load_grid(path)
    # an unguarded alias bomb expands for hours; 60 s is generous even on a loaded 2-core machine
    assert time.perf_counter() - t0 < 60, "refused, but slowly"
    return e.value


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


def test_runs_are_counted_and_capped_before_expansion(tmp_path, capsys):
    axes = {k: list(range(40)) for k in ("seed", "rounds", "local_steps", "knn_k", "batch_size")}
    e = grid_error(tmp_path, yaml.safe_dump({"preset": "tiny", "grid": axes}))
    assert e.field == "grid" and "102,400,000 runs" in str(e) and "--max-runs" in str(e)
    grid = tmp_path / "three.yaml"
    grid.write_text("preset: tiny\ngrid: {seed: [0, 1, 2]}\n")
    assert len(sw.load_grid(grid, max_runs=3)["runs"]) == 3
    with pytest.raises(ConfigError, match="3 runs"):
        sw.load_grid(grid, max_runs=2)


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
    path.write_text("# " + "x" * (sw.MAX_GRID_BYTES + 1))
    with pytest.raises(ConfigError, match="at most"):
        sw.load_grid(path)
    path.write_bytes(b"\xff\xfe\x00grid")
    with pytest.raises(ConfigError, match="UTF-8"):
        sw.load_grid(path)
    with pytest.raises(ConfigError, match="not a file"):
        sw.load_grid(tmp_path)


# ----- damaged files -----
DAMAGE = {"empty": lambda text: "", "truncated": lambda text: text[: len(text) // 2],
          "a list": lambda text: "[]", "no metrics": lambda text: '{"config": {}}',
          "another run's": lambda text: '{"name": "alpha-1.0", "params": {}}'}


@pytest.mark.parametrize("file, how", [("result.json", "empty"), ("result.json", "truncated"),
                                       ("result.json", "a list"), ("result.json", "no metrics"),
                                       ("run.json", "empty"), ("run.json", "truncated"),
                                       ("run.json", "another run's")])
def test_resume_reruns_exactly_the_damaged_run(swept, calls, file, how, capsys):
    bad, good = swept / NAMES[0] / file, swept / NAMES[1] / "result.json"
    kept = good.read_bytes()
    bad.write_text(DAMAGE[how](bad.read_text()))
    res = sw.sweep(GRID, swept, progress=False)
    assert calls == [NAMES[0]] and res["damaged"] == [NAMES[0]] and (res["ran"], res["skipped"]) == (1, 1)
    assert f"{NAMES[0]} is damaged" in capsys.readouterr().err
    assert Result.load(swept / NAMES[0] / "result.json").config["alpha"] == 0.1
    assert good.read_bytes() == kept
    (aside,) = (swept / ".damaged").iterdir()
    assert aside.name.startswith(NAMES[0]) and (aside / file).exists()
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
    assert "Traceback" not in err and NAMES[1] in out
    if file.startswith("alpha-0.1"):
        assert f"damaged, skipped: {NAMES[0]}" in err
    (swept / "alpha-1.0" / "error.json").write_text("{")  # a failed run's record, damaged
    (swept / "alpha-1.0" / "result.json").unlink()
    assert cli.main(["report", str(swept)]) == 0


# ----- one sweep per folder -----
def test_second_sweep_on_a_folder_refuses_naming_the_holder(tmp_path, monkeypatch):
    inside, release, seen, res = threading.Event(), threading.Event(), [], {}
    real = sw.execute

    def gated(run, nb=None):
        seen.append(run["name"])
        inside.set()
        assert release.wait(60)
        return real(run, nb)

    monkeypatch.setattr(sw, "execute", gated)
    first = threading.Thread(target=lambda: res.update(first=sw.sweep(GRID, tmp_path, progress=False)))
    first.start()
    try:
        assert inside.wait(60)
        with pytest.raises(sw.SweepLocked) as e:
            sw.sweep(GRID, tmp_path, progress=False)
        assert f"pid {os.getpid()} on {socket.gethostname()}" in str(e.value)
    finally:
        release.set()
        first.join(120)
    assert sorted(seen) == NAMES and res["first"]["ran"] == 2 and finished(tmp_path) == set(NAMES)
    assert sw.sweep(GRID, tmp_path, progress=False)["ran"] == 0  # the lock went with the first sweep


GATED = """
import sys, time
from pathlib import Path
from dssl_lite import cli, sweep as sw
gate, log = Path(sys.argv[1]), Path(sys.argv[2])
real = sw.execute
def gated(run, nb=None):
    while not gate.exists():
        time.sleep(0.05)
    with open(log, "a") as f:
        f.write(run["name"] + "\\n")
    return real(run, nb)
sw.execute = gated
sys.exit(cli.main(sys.argv[3:]))
"""


def test_two_sweep_processes_on_one_folder(tmp_path):
    grid, out, gate, log = tmp_path / "g.yaml", tmp_path / "out", tmp_path / "gate", tmp_path / "log"
    grid.write_text(yaml.safe_dump(GRID))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    first = subprocess.Popen([sys.executable, "-c", GATED, str(gate), str(log), "sweep", str(grid),
                              "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        end = time.monotonic() + 120
        while f"pid {first.pid} " not in ((out / ".lock").read_text() if (out / ".lock").exists() else ""):
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
    assert sorted(log.read_text().split()) == NAMES and finished(out) == set(NAMES)  # each run once


# ----- a full disk -----
def test_full_disk_stops_the_sweep_and_keeps_finished_runs(tmp_path, monkeypatch, capsys):
    grid = tmp_path / "g.yaml"
    grid.write_text("preset: tiny\ngrid: {alpha: [0.1, 1.0], seed: [0, 1]}\n")
    out, real, written = tmp_path / "out", sw.write_json, []

    def full_at_third_run(path, obj, indent=1):
        if Path(path).name == "run.json":
            written.append(path)
            if len(written) >= 3:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, obj, indent)

    monkeypatch.setattr(sw, "write_json", full_at_third_run)
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
        sw.sweep(GRID, tmp_path, progress=False)
    assert finished(tmp_path) == {NAMES[0]} and not (tmp_path / NAMES[1]).exists()


def test_full_disk_on_run_out_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(Result, "save", lambda self, path: (_ for _ in ()).throw(
        OSError(errno.ENOSPC, "No space left on device", str(path))))
    assert cli.main(["run", "--preset", "tiny", "--out", str(tmp_path / "r.json")]) == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert "no space left" in line


# ----- Ray listens on 127.0.0.1 only -----
def our_processes() -> set:
    """This process and every process it started (Ray's GCS, raylet, workers, agents)."""
    parent = {}
    for p in Path("/proc").iterdir():
        try:
            parent[int(p.name)] = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (ValueError, OSError, IndexError):
            continue
    ours, grew = {os.getpid()}, True
    while grew:
        new = {pid for pid, pp in parent.items() if pp in ours} - ours
        ours |= new
        grew = bool(new)
    return ours


def listening(pids: set) -> set:
    """(address, port) of every TCP socket in LISTEN state owned by `pids` (from /proc/net)."""
    inodes = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        except OSError:
            continue
    found = set()
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        for row in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            cols = row.split()
            if cols[3] != "0A" or cols[9] not in inodes:  # 0A: LISTEN
                continue
            addr, port = cols[1].split(":")
            raw = b"".join(struct.pack("<I", int(addr[i:i + 8], 16)) for i in range(0, len(addr), 8))
            found.add((socket.inet_ntop(family, raw), int(port, 16)))
    return found


def loopback(address: str) -> bool:
    return address.startswith(("127.", "::ffff:127.")) or address == "::1"


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")
def test_ray_sweep_listens_on_localhost_only(tmp_path, monkeypatch):
    pytest.importorskip("ray", reason="ray is not installed")
    seen, real = set(), sw.commit
    monkeypatch.setattr(sw, "commit", lambda out, run, outcome: seen.update(listening(our_processes()))
                        or real(out, run, outcome))
    monkeypatch.setenv("RAY_ADDRESS", "127.0.0.1:1")  # nothing there: joining it would fail the sweep
    try:
        res = sw.sweep({"preset": "tiny", "grid": {"seed": [0]}}, tmp_path, executor="ray", progress=False)
    except sw.RayStartError as e:  # Ray's own startup, not our code (ray-project/ray#65983)
        pytest.skip(f"local Ray could not start on this machine: {e}")
    assert res["failed"] == [] and seen, "no Ray port seen during the sweep"
    assert all(loopback(a) for a, _ in seen), sorted(seen)


# ----- the explorer's worker -----
def test_a_failing_listener_does_not_kill_the_worker(caplog):
    from dssl_widgets.model import ExplorerModel

    m, events = ExplorerModel(preset("tiny")), []

    def broken(event, payload):
        if event == "round":
            raise RuntimeError("display bug")

    m.listeners += [broken, lambda event, payload: events.append((event, payload))]
    assert m.run() and m.wait(90) and not m.running
    assert len(m.results) == 1 and ("finished", m.results[0]) in events
    errors = [p for e, p in events if e == "listener_error"]
    assert errors and "display bug" in errors[0] and "display bug" in caplog.text
    assert m.run() and m.wait(90) and len(m.results) == 2  # still serving
    m.close()


def test_close_stops_the_worker_and_frees_models():
    pytest.importorskip("ipywidgets")
    from dssl_widgets import build_explorer

    ex = build_explorer("tiny", backend="image")
    m = ex.model
    assert ex.run() and ex.wait(90) and m.simulators and m.results
    worker = m._worker
    m.run()  # a run in progress when closing is stopped
    ex.close()
    assert not worker.alive and not m.running
    assert not m.simulators and not m.results and not m.listeners
    with pytest.raises(RuntimeError, match="closed"):
        m.run()


def test_a_dropped_explorer_model_frees_its_thread_and_models():
    """No close(): the worker thread holds no reference to its model between jobs, so the model
    (and its trained simulators) is collected and the thread ends."""
    import gc
    import weakref

    from dssl_widgets.model import ExplorerModel

    def threads():
        return sum(t.name == "dssl-explorer" and t.is_alive() for t in threading.enumerate())

    before, refs = threads(), []
    for seed in range(3):
        m = ExplorerModel(preset("tiny", seed=seed))
        m.seeds = 1
        assert m.run() and m.wait(90) and m.simulators
        refs.append(weakref.ref(m))
        del m
    gc.collect()
    assert all(r() is None for r in refs), "a dropped model is still referenced"
    end = time.monotonic() + 30
    while threads() > before:
        assert time.monotonic() < end, "the worker threads of dropped models did not end"
        time.sleep(0.05)


def test_fashion_mnist_downloads_over_https_only(tmp_path, monkeypatch):
    """No network here: record the URLs torchvision would fetch, and refuse them."""
    import torchvision.datasets.mnist as tv_mnist

    from dssl_lite import data

    urls = []

    def fake(url, *a, **k):
        urls.append(url)
        raise OSError("no network in this test")

    monkeypatch.setattr(tv_mnist, "download_and_extract_archive", fake)
    monkeypatch.setattr(data, "DEBIAN_FASHION", tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="could not download fashion_mnist"):
        data.load_fashion_mnist(28, root=tmp_path, download=True)
    assert urls and all(u.startswith("https://") for u in urls), urls
