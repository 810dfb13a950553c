"""Worker processes (`workers.py`): a run's numbers do not depend on who computes its chunks, nor on
how many workers there are; a failing worker is reported, not hung on."""
import pytest
import torch

from dssl_lite import preset, workers
from dssl_lite.experiment import train_stack


@pytest.fixture
def pooled(monkeypatch):
    """Every job on a pool of `n` worker processes, however small the job."""
    def use(n):
        monkeypatch.setenv("DSSL_WORKERS", str(n))
        monkeypatch.setattr(workers, "POOL_MIN_CLIENT_STEPS", 0)
    return use


@pytest.mark.parametrize("objective", ["mim", "cl", "mar", "byol"])
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
