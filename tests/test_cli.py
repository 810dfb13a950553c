import json
import subprocess
import sys

import pytest

from dssl_lite.cli import main
import errno
from pathlib import Path

import yaml

from dssl_lite import cli
from dssl_lite.results import Result
from helpers import TWO_RUNS, error_lines



def test_run_json_contract(capsys):
    assert main(["run", "--preset", "tiny", "--alpha", "0.1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("accuracy", "iid_accuracy", "robustness", "seconds", "config", "history"):
        assert key in out
    assert out["config"]["alpha"] == 0.1 and out["history"][0]["round"] == 1


def test_same_seed_twice_gives_identical_json_numbers(capsys):
    from dssl_lite import experiment

    def numbers():
        experiment.forget()  # the IID baseline is trained again, not read from the cache
        assert main(["run", "--preset", "tiny", "--topology", "ring", "--seed", "3", "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        drop_time = lambda hs: [{k: v for k, v in h.items() if k != "seconds"} for h in hs]
        return ({k: v for k, v in out.items() if k not in ("seconds", "history", "iid_history", "versions")},
                drop_time(out["history"]), drop_time(out["iid_history"]))

    assert numbers() == numbers()


@pytest.mark.parametrize("args,needle", [
    (["run", "--alpha", "-1"], "alpha"), (["run", "--topology", "hypercube"], "topology"),
    (["run", "--preset", "huge"], "preset"), (["run", "--set", "nope=1"], "nope"),
    (["run", "--clients", "many"], "clients"), (["run", "--alpha", "0"], "alpha"),
    (["run", "--alpha", "nan"], "alpha"), (["run", "--alpha", "lots"], "alpha"),
    (["run", "--clients", "1"], "clients"), (["run", "--dataset", "digits", "--clients", "500"], "clients"),
    (["run", "--topology", "regular", "--clients", "8", "--degree", "9"], "degree"),
    (["run", "--topology", "regular", "--clients", "5", "--degree", "3"], "degree"),
    (["run", "--objective", "vicreg"], "objective"), (["run", "--model", "vgg"], "model"),
    (["run", "--dataset", "imagenet"], "dataset"), (["run", "--seed", "-1"], "seed"),
    (["run", "--rounds", "0"], "rounds"), (["run", "--set", "mask_ratio=1.0"], "mask_ratio"),
    (["run", "--set", "mask_ratio=0"], "mask_ratio"),
    (["run", "--dataset", "cifar10", "--set", "image_size=32"], "cifar-10-batches-py"),
])
def test_bad_input_exits_2_with_one_line(args, needle, tmp_path):
    p = subprocess.run([sys.executable, "-m", "dssl_lite.cli", *args], capture_output=True, text=True,
                       cwd=tmp_path)  # cwd: no data/ folder, so CIFAR is missing
    assert p.returncode == 2
    assert needle in p.stderr and "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_bench_json_sets_every_strategy_beside_the_plain_loop(capsys):
    assert main(["bench", "--clients", "2", "--seconds", "0.01", "--reps", "1", "--strategies",
                 "plain loop,chunks,loop", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    p = out["core_peak"]
    assert 0 < p["low"] <= p["median"] <= p["gflops"] and out["limit_gflops"] == pytest.approx(out["cores"] * p["gflops"])
    assert out["flops_per_client_step"]["mim"] > 1e6 and out["memory_mb_1000_clients"] > 0
    rows = {r["strategy"]: r for r in out["rows"]}
    assert set(rows) == {"plain loop", "chunks", "loop"} and rows["plain loop"]["vs_plain_loop"] == pytest.approx(1.0)
    assert all(0 < r["fraction"] < 1 and r["client_steps_per_s"] > 0 and r["checked"] for r in rows.values())
    assert [r["strategy"] for r in out["rows"] if r["default"]] == []  # the live preset compiles: not timed here


def test_nan_loss_stops_with_a_message_and_keeps_finished_rounds(capsys, monkeypatch, tmp_path):
    """Round 3 diverges, as too large an lr would: its learning rate turns NaN (the schedule is
    the simulator's one public input per step)."""
    import torch

    from dssl_lite import optim

    real = optim.lr_at
    monkeypatch.setattr("dssl_lite.simulator.lr_at",
                        lambda cfg, step: float("nan") if step >= 2 * cfg.local_steps else real(cfg, step))
    out = tmp_path / "r.json"
    assert main(["run", "--preset", "tiny", "--set", "rounds=4", "--json", "--out", str(out)]) == 1
    cap = capsys.readouterr()
    done = json.loads(cap.out)
    assert [h["round"] for h in done["history"]] == [1, 2] and "lr" in done["error"]
    assert json.loads(out.read_text())["history"] == done["history"]
    assert "lr" in cap.err and "Traceback" not in cap.err and torch.isfinite(torch.tensor(done["history"][-1]["loss"]))


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
    grid.write_text(yaml.safe_dump(TWO_RUNS))
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


def test_full_disk_on_run_out_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(Result, "save", lambda self, path: (_ for _ in ()).throw(
        OSError(errno.ENOSPC, "No space left on device", str(path))))
    assert cli.main(["run", "--preset", "tiny", "--out", str(tmp_path / "r.json")]) == 1
    (line,) = error_lines(capsys.readouterr().err)
    assert "no space left" in line


@pytest.mark.parametrize("sets", [["reference=same-graph", "topology=ring"], ["decl_eval=local-mean", "topology=ring"],
                                  ["topology=min_degree", "degree=2", "mixing=size"], ["partition=dirichlet-balanced"],
                                  ["optimizer_state=fresh"], ["objective=mar-mmd"], ["objective=mar", "mar_schedule=constant"]])
def test_every_fidelity_choice_runs(sets, capsys):
    args = ["run", "--preset", "tiny", "--json"] + [a for s in sets for a in ("--set", s)]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    for s in sets:
        k, v = s.split("=")
        assert str(out["config"][k]) == v
    assert {"robustness_fl_iid", "robustness_same_graph"} <= set(out)


@pytest.mark.parametrize("field, value", [("reference", "ring-iid"), ("decl_eval", "best"), ("mixing", "uniform"),
                                          ("partition", "shards"), ("optimizer_state", "reset"), ("mar_schedule", "linear")])
def test_a_bad_fidelity_value_is_one_line_naming_its_field(field, value, capsys):
    assert main(["run", "--preset", "tiny", "--set", f"{field}={value}"]) == 2
    (line,) = error_lines(capsys.readouterr().err)
    assert f"error: {field}:" in line and "allowed" in line
