import pytest
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


def test_decl_is_judged_by_its_averaged_model_and_its_local_mean():
    """`decl_eval: average` probes the data-size-weighted average of the final local models (what
    the paper's code fine-tunes); `local-mean` averages the local models' accuracies. Both are
    recorded; the averaged model equals probing those averaged weights by hand."""
    import torch

    from dssl_lite import preset
    from dssl_lite.evaluate import encode, knn_accuracy
    from dssl_lite.experiment import train

    cfg = preset("tiny", topology="ring", clients=5, alpha=0.3)
    metrics, _, sim = train(cfg)
    w = sim.sizes / sim.sizes.sum()
    avg = {n: torch.einsum("k,k...->...", w, t) for n, t in sim.params.items()}
    enc = {n[len("encoder."):]: t[None] for n, t in avg.items() if n.startswith("encoder.")}
    d = sim.data
    by_hand = knn_accuracy(encode(sim.model.encoder, enc, d.train_x), d.train_y,
                           encode(sim.model.encoder, enc, d.test_x), d.test_y, d.num_classes, cfg.knn_k)
    assert metrics["accuracy_average"] == pytest.approx(float(by_hand[0]))
    assert metrics["accuracy"] == metrics["accuracy_average"]
    assert metrics["accuracy_local_mean"] == pytest.approx(sum(metrics["local_accuracies"]) / 5, abs=1e-6)
    local, _, _ = train(cfg.replace(decl_eval="local-mean"))
    assert local["accuracy"] == local["accuracy_local_mean"] == metrics["accuracy_local_mean"]
