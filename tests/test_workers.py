"""Worker processes (`workers.py`): a run's numbers do not depend on who computes its chunks, nor on
how many workers there are; a failing worker is reported, not hung on; a killed one costs its round,
not the run."""
import os
import signal

import pytest
import torch

from dssl_lite import preset, simulator, workers
from dssl_lite.cli import main
from dssl_lite.experiment import train_stack
from helpers import error_lines


@pytest.fixture
def pooled(monkeypatch):
    """Every job on a pool of `n` worker processes, however small the job."""
    def use(n):
        monkeypatch.setenv("DSSL_WORKERS", str(n))
        monkeypatch.setattr(workers, "POOL_MIN_CLIENT_STEPS", 0)
    return use


@pytest.mark.parametrize("objective", ["cl", "mar", "byol"])  # mar runs MIM's step plus its mixed state
def test_numbers_do_not_depend_on_the_number_of_workers(objective, pooled, monkeypatch):
    cfgs = [preset("tiny", objective=objective, seed=2), preset("tiny", objective=objective, seed=2, alpha=None)]
    monkeypatch.setenv("DSSL_WORKERS", "1")
    m1, h1, s1 = train_stack(cfgs)
    assert s1.pool is None
    for n in (2, 3):
        pooled(n)
        m, h, s = train_stack(cfgs)
        assert s.pool is not None and len(s.pool.procs) == n
        assert [r["loss"] for r in h[0]] == [r["loss"] for r in h1[0]]
        assert [x["accuracy"] for x in m] == [x["accuracy"] for x in m1]
        for name, t in s1.params.items():
            assert torch.equal(s.params[name], t), name


def test_a_failing_worker_is_an_error_not_a_hang(pooled, monkeypatch):
    pooled(2)
    from dssl_lite.simulator import Simulator

    sim = Simulator(preset("tiny"))
    rnd = sim.begin_round()
    sim.pool.procs[0].kill()
    with pytest.raises(workers.WorkerError, match="died"):
        rnd.step()


@pytest.mark.parametrize("victim", [0, 1])
def test_a_worker_killed_mid_round_costs_the_round_not_the_run(victim, pooled, monkeypatch):
    """SIGKILL one worker after round 2's first local step: every worker is ended, round 2 runs
    again from its start on a new pool, and the runs end with exactly the numbers of runs that
    lost no worker. Two stacked runs give each worker a chunk; killing worker 1 leaves worker 0
    writing its share when the death is seen."""
    cfgs = [preset("tiny", rounds=3, seed=4), preset("tiny", rounds=3, seed=4, alpha=None)]
    monkeypatch.setenv("DSSL_WORKERS", "1")
    m1, h1, s1 = train_stack(cfgs)  # this thread: the reference numbers
    pooled(2)
    real, steps, killed = workers.Pool.step, [], []

    def step_then_kill(pool, key, jobs, *a, **k):
        assert len(jobs) == 2  # one chunk per worker
        real(pool, key, jobs, *a, **k)
        steps.append(1)
        if len(steps) == cfgs[0].local_steps + 1:  # round 2, after its first local step
            proc = pool.procs[victim]
            os.kill(proc.pid, signal.SIGKILL)
            proc.join(30)
            killed.append(pool)

    monkeypatch.setattr(workers.Pool, "step", step_then_kill)
    m, h, s = train_stack(cfgs)
    assert killed and s.pool is not killed[0] and s.pool.alive()  # round 2 ran on a new pool
    assert len(steps) == cfgs[0].rounds * cfgs[0].local_steps + 1  # its first step was taken twice
    assert [[r["loss"] for r in run] for run in h] == [[r["loss"] for r in run] for run in h1]
    assert [x["accuracy"] for x in m] == [x["accuracy"] for x in m1]
    for name, t in s1.params.items():
        assert torch.equal(s.params[name], t), name


def test_workers_that_keep_dying_are_one_line_and_exit_1(pooled, monkeypatch, capsys):
    pooled(2)
    monkeypatch.setattr(simulator, "WORKER_RETRIES", 1)
    real = workers.Pool.step

    def kill_then_step(pool, *a, **k):
        os.kill(pool.procs[0].pid, signal.SIGKILL)
        pool.procs[0].join(30)
        real(pool, *a, **k)

    monkeypatch.setattr(workers.Pool, "step", kill_then_step)
    assert main(["run", "--preset", "tiny"]) == 1
    [line] = error_lines(capsys.readouterr().err)
    assert "died" in line and "gave up after 2 tries" in line, line
