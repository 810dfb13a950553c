"""MAR as the paper's code computes it: the loss against a line-by-line transcription of its
`ammd.py`, the target and the weight schedule, and the variants beside it."""
import math

import pytest
import torch

from dssl_lite import preset
from dssl_lite.objectives import create_objective
from dssl_lite.objectives.parts import mmd2_unbiased, paper_mmd
from dssl_lite.simulator import Simulator


# ----- the paper's code, transcribed (ammd.py 87-112 at its HEAD), for comparison only -----
def mean_pairwise_distance(x):
    with torch.no_grad():
        dist = torch.cdist(x, x, p=2)
        mean = dist.flatten().mean()
    return mean.item()


def gaussian_kernel(x, y, sigma=1.0):
    x = x.unsqueeze(1)  # [B, 1, D]
    y = y.unsqueeze(0)  # [1, B, D]
    dist = ((x - y) ** 2).sum(dim=2)
    return torch.exp(-dist / (2 * sigma ** 2))


def mmd_loss(x, y, sigma=1.0):
    K_xx = gaussian_kernel(x, x, sigma)
    K_yy = gaussian_kernel(y, y, sigma)
    K_xy = gaussian_kernel(x, y, sigma)
    B = x.size(0)
    B_y = y.size(0)
    loss = K_xx.sum() / (B * (B - 1)) + K_yy.sum() / (B_y * (B_y - 1)) - 2 * K_xy.mean()
    return loss


def the_codes_term(latent, global_latent):
    """model_mae.py 298-320: latent_1 = latent.clone(), sigma from it, mmd_loss(latent_1, latent_2)."""
    latent_1 = latent.clone()
    latent_2 = global_latent.clone()
    sigma = mean_pairwise_distance(latent_1)
    return mmd_loss(latent_1, latent_2, sigma)


@pytest.mark.parametrize("shape", [(8, 4, 16), (16, 5, 64), (4, 17, 8)])
def test_the_alignment_term_is_the_codes(shape):
    g = torch.Generator().manual_seed(sum(shape))
    x, y = torch.randn(shape, generator=g), torch.randn(shape, generator=g) * 0.5 + 0.3
    torch.testing.assert_close(paper_mmd(x, y), the_codes_term(x, y), rtol=1e-5, atol=1e-6)
    # gradients flow to the local latents only, as in the code (the target is a copy, detached)
    xg = x.clone().requires_grad_(True)
    paper_mmd(xg, y).backward()
    xr = x.clone().requires_grad_(True)
    the_codes_term(xr, y).backward()
    torch.testing.assert_close(xg.grad, xr.grad, rtol=1e-4, atol=1e-6)


def test_the_codes_kernel_spreads_features_where_a_textbook_mmd_collapses_them():
    """A target that is (nearly) one averaged point: descending the code's loss spreads the local
    latents, descending a textbook MMD^2 on pooled latents pulls them onto the point."""
    g = torch.Generator().manual_seed(0)
    target = torch.randn(1, 4, 16, generator=g).expand(16, 4, 16) * 0.1
    spreads = {}
    for name, loss in (("paper", lambda z: paper_mmd(z, target)),
                       ("textbook", lambda z: mmd2_unbiased(z.mean(1), target.mean(1)))):
        z = torch.randn(16, 4, 16, generator=torch.Generator().manual_seed(1)).requires_grad_(True)
        opt = torch.optim.Adam([z], lr=0.05)
        for _ in range(200):
            opt.zero_grad()
            loss(z).backward()
            opt.step()
        spreads[name] = z.detach().mean(1).std(0).mean().item()
    start = torch.randn(16, 4, 16, generator=torch.Generator().manual_seed(1)).mean(1).std(0).mean().item()
    assert spreads["paper"] > start > spreads["textbook"], (spreads, start)


def test_the_weight_follows_the_codes_cosine_by_selection_count():
    cfg = preset("tiny", objective="mar", rounds=10, clients=4)  # cap = (4 x 10) // 4 = 10
    obj = create_objective(cfg, 1)
    counts = torch.arange(1, 13, dtype=torch.float32)
    gamma = obj.gamma(counts)
    expect = [1e-3 + 0.5 * (0.1 - 1e-3) * (1 + math.cos(math.pi * min(1, (c - 1) / 10))) for c in range(1, 13)]
    torch.testing.assert_close(gamma, torch.tensor(expect), rtol=1e-5, atol=1e-7)
    assert gamma[0] == pytest.approx(0.1) and gamma[-1] == pytest.approx(1e-3)
    fixed = create_objective(cfg.replace(mar_schedule="constant", mar_weight=1e-3), 1)
    assert torch.allclose(fixed.gamma(counts), torch.full_like(counts, 1e-3))


def test_the_target_is_the_participants_plain_average_of_their_mean_token_latents():
    cfg = preset("tiny", objective="mar", clients=6, participation=0.5, alpha=0.3, seed=4)
    sim = Simulator(cfg)
    rnd = sim.begin_round()
    chosen = rnd.active.tolist()
    for _ in range(cfg.local_steps):
        rnd.step()
    epoch = rnd.work.state["latent_sum"] / cfg.local_steps  # (3, B, T, D)
    assert epoch.dim() == 4  # token latents, not pooled
    rnd.finish()
    expect = epoch.mean(0)  # unweighted over the participants, whatever their data sizes
    for k in range(cfg.clients):
        torch.testing.assert_close(sim.state["target"][k], expect, rtol=1e-5, atol=1e-6)
    counts = sim.state["count"].tolist()
    assert [counts[k] for k in chosen] == [1.0] * 3 and sum(counts) == 3


@pytest.mark.parametrize("objective,shared", [("mar", False), ("mar-shared", True)])
def test_mar_shared_mask_hides_the_same_patches_on_every_client(objective, shared):
    cfg = preset("tiny", objective=objective, clients=4, alpha=None, seed=2)
    noise = Simulator(cfg).sample_batch()["noise"]  # [K, B, L]
    same = all(torch.equal(noise[0], noise[k]) for k in range(1, cfg.clients))
    assert same == shared
    assert not torch.equal(noise[0, 0], noise[0, 1])  # images within a batch still differ


def test_mar_mmd_is_the_textbook_variant_on_pooled_latents():
    sim = Simulator(preset("tiny", objective="mar-mmd"))
    assert sim.state["target"].dim() == 3  # (K, B, D): pooled
