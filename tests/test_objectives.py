
import pytest
import torch

from dssl_lite.config import Config
from dssl_lite.objectives import Objective, create_objective, mmd2_unbiased, patchify
from dssl_lite.registry import ENCODERS, OBJECTIVES


@pytest.mark.parametrize("model", ENCODERS.names())
@pytest.mark.parametrize("objective", OBJECTIVES.names())
def test_every_objective_gives_finite_loss_and_grads(objective, model):
    cfg = Config(objective=objective, model=model, width=16, depth=1, heads=2, batch_size=8)
    obj = create_objective(cfg, 1)
    assert isinstance(obj, Objective)
    batch = obj.prepare(torch.randn(8, 1, 16, 16), torch.Generator().manual_seed(0), torch.Generator().manual_seed(1))
    params = {n: p.detach() for n, p in obj.named_parameters()}
    state = {n: t + 0.1 * torch.randn_like(t) for n, t in obj.init_state(params).items()}
    if "has_target" in state:
        state["has_target"], state["count"] = torch.ones(()), torch.ones(())
    loss, aux = obj(batch, state)
    loss.backward()
    assert torch.isfinite(loss)
    grads = [p.grad for p in obj.encoder.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(g.abs().sum() for g in grads) > 0  # (timm zero-inits ResNet's last block norms)
    assert not list(obj.buffers()), "stacked simulation needs buffer-free modules"


def test_mmd_zero_for_same_sample_and_grows_with_shift():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 8, generator=g)
    y = torch.randn(64, 8, generator=g)
    same = mmd2_unbiased(x, y)
    shifted = mmd2_unbiased(x, y + 1.0)
    assert abs(same) < 0.05 and shifted > 10 * abs(same)
    assert mmd2_unbiased(x, y + 2.0) > shifted


def test_patchify_matches_timm_patch_order():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    p = patchify(x, 2)
    assert p.shape == (1, 4, 4) and p[0, 1].tolist() == [2, 3, 6, 7]

