"""One chunk's local step (`engine.py`): each client's batch from its own generator, and its
numbers independent of which clients share its call (eager vmap)."""
import torch

from dssl_lite import preset
from dssl_lite.simulator import Simulator


def fresh(cfg):
    sim = Simulator(cfg)
    rnd = sim.begin_round()
    work = rnd.work
    return sim, {"params": work.params, "exp_avg": work.moments.exp_avg, "exp_avg_sq": work.moments.exp_avg_sq,
                 "state": work.state}


def test_a_clients_batch_does_not_depend_on_who_is_drawn_beside_it():
    sim, _ = fresh(preset("tiny", objective="cl", clients=6))
    alone = sim.engine.batch([3], step=5)
    together = sim.engine.batch([1, 3, 4], step=5)
    for n in alone:
        assert torch.equal(alone[n][0], together[n][1]), n
    assert not torch.equal(sim.engine.batch([3], step=6)["view1"], alone["view1"])  # a new step, new draws


def test_a_chunks_numbers_do_not_depend_on_its_other_clients():
    """Clients 0-3 stepped as one chunk, or as chunks (0, 2) and (2, 4): the same numbers."""
    cfg = preset("tiny", objective="mim", clients=4)
    one, tensors_one = fresh(cfg)
    two, tensors_two = fresh(cfg)
    l1, l2 = torch.zeros(4), torch.zeros(4)
    one.engine.step(tensors_one, 0, 4, range(4), 0, 0, 1e-3, l1)
    for lo, hi in ((0, 2), (2, 4)):
        two.engine.step(tensors_two, lo, hi, range(lo, hi), 0, 0, 1e-3, l2)
    assert torch.equal(l1, l2)
    for n, t in tensors_one["params"].items():
        assert torch.equal(t, tensors_two["params"][n]), n
