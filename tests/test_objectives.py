import pytest
import torch

from dssl_lite.config import Config
from dssl_lite.objectives import REGISTRY, create_objective, mmd2_unbiased, patchify


@pytest.mark.parametrize("model", ["vit_tiny", "resnet_small"])
@pytest.mark.parametrize("objective", REGISTRY)
def test_every_objective_gives_finite_loss_and_grads(objective, model):
    cfg = Config(objective=objective, model=model, width=16, depth=1, heads=2)
    obj = create_objective(cfg, 1)
    batch = obj.prepare(torch.randn(8, 1, 16, 16), torch.Generator().manual_seed(0))
    ref = {n[8:]: p.detach() + 0.1 for n, p in obj.named_parameters() if n.startswith("encoder.")}
    loss = obj(batch, ref)
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
