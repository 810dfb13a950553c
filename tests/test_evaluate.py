import torch

from dssl_lite.evaluate import knn_accuracy, linear_probe_accuracy


def _blobs(n, seed):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    centers = torch.tensor([[4.0, 0, 0], [0, 4.0, 0], [0, 0, 4.0]])
    return centers[y] + 0.5 * torch.randn(n, 3, generator=g), y


def test_probes_separate_blobs_and_fail_on_noise():
    xtr, ytr = _blobs(300, 0)
    xte, yte = _blobs(90, 1)
    noise = torch.randn(1, 300, 3)
    for probe in (knn_accuracy, linear_probe_accuracy):
        acc = probe(torch.stack([xtr, xtr]), ytr, torch.stack([xte, xte]), yte, 3)
        assert acc.shape == (2,) and (acc > 0.95).all()
        chance = probe(noise, ytr, torch.randn(1, 90, 3), yte, 3)
        assert chance[0] < 0.6
