"""AdamW on stacked client tensors and the learning-rate schedule (`optim.py`)."""
import math

import pytest
import torch

from dssl_lite import preset
from dssl_lite.optim import Moments, adamw_step, decays, lr_at
from dssl_lite.simulator import Simulator


def per_client_adamw(params: dict, grads: dict, k: int, lr: float, steps: int = 1) -> dict:
    """Client k stepped alone by torch.optim.AdamW (fused), as a user would set it up."""
    ps = {n: p[k].clone() for n, p in params.items()}
    opt = torch.optim.AdamW([{"params": [p for p in ps.values() if p.dim() >= 2], "weight_decay": 0.05},
                             {"params": [p for p in ps.values() if p.dim() < 2], "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.95), eps=1e-8, fused=True)
    for _ in range(steps):
        for n, p in ps.items():
            p.grad = grads[n][k]
        opt.step()
    return ps


@pytest.mark.parametrize("rows", [slice(None), slice(1, 3)])
def test_stacked_adamw_is_torchs_adamw_per_client_to_the_last_bit(rows):
    """AdamW on stacked [K, ...] tensors is elementwise: stepping any slice of the stack twice
    equals stepping each of its clients with its own torch.optim.AdamW."""
    sim = Simulator(preset("tiny", topology="ring"))
    params = {n: p[rows].clone() for n, p in sim.params.items()}
    grads = {n: torch.randn_like(p) for n, p in params.items()}
    m = Moments.zeros(params)
    alone = [per_client_adamw(params, grads, k, 1e-3, steps=2) for k in range(next(iter(params.values())).shape[0])]
    for step in range(2):
        adamw_step(params, grads, m.exp_avg, m.exp_avg_sq, step, 1e-3, 0.05)
    for k, ps in enumerate(alone):
        for n, p in ps.items():
            assert torch.equal(params[n][k], p), n


def test_weight_decay_only_on_matrices_and_kernels():
    assert decays("w", torch.zeros(4, 3, 5)) and not decays("b", torch.zeros(4, 5))


def test_moments_clone_zero_and_copy():
    m = Moments.zeros({"a": torch.zeros(2, 3)})
    m.exp_avg["a"] += 1
    m.count = 3
    c = m.clone()
    m.zero_()
    assert m.count == 0 and not m.exp_avg["a"].any() and c.exp_avg["a"].all() and c.count == 3
    m.copy_(c)
    assert m.count == 3 and m.exp_avg["a"].all()


def test_learning_rate_warm_up_then_constant_or_cosine():
    cfg = preset("tiny", rounds=2, local_steps=5, lr=1e-3, warmup_steps=4)
    assert [lr_at(cfg, s) for s in range(4)] == pytest.approx([2.5e-4, 5e-4, 7.5e-4, 1e-3])
    assert lr_at(cfg, 9) == 1e-3
    cos = cfg.replace(lr_schedule="cosine")
    assert lr_at(cos, 4) == pytest.approx(1e-3) and lr_at(cos, 10) == pytest.approx(0.0, abs=1e-12)
    assert lr_at(cos, 7) == pytest.approx(0.5e-3 * (1 + math.cos(math.pi * 3 / 6)))
