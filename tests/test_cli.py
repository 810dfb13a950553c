import json
import subprocess
import sys

import pytest

from dssl_lite.cli import main


def test_run_json_contract(capsys):
    assert main(["run", "--preset", "tiny", "--alpha", "0.1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("accuracy", "iid_accuracy", "robustness", "seconds", "config", "history"):
        assert key in out
    assert out["config"]["alpha"] == 0.1 and out["history"][0]["round"] == 1


@pytest.mark.parametrize("args,needle", [
    (["run", "--alpha", "-1"], "alpha"), (["run", "--topology", "star"], "topology"),
    (["run", "--preset", "huge"], "preset"), (["run", "--set", "nope=1"], "nope"),
    (["run", "--clients", "many"], "clients"),
])
def test_bad_input_exits_2_with_one_line(args, needle):
    p = subprocess.run([sys.executable, "-m", "dssl_lite.cli", *args], capture_output=True, text=True)
    assert p.returncode == 2
    assert needle in p.stderr and "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_bench_json_keys(capsys):
    assert main(["bench", "--clients", "2,3", "--steps", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["vectorized_vs_sequential"]) == {"2", "3"}
    assert out["matmul_gflops"] > 0 and out["achieved_fraction"] > 0
