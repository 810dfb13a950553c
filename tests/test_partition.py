import numpy as np
import pytest

from dssl_lite.partition import dirichlet_partition, heterogeneity, iid_partition, label_histogram, partition

LABELS = np.repeat(np.arange(10), 100)


@pytest.mark.parametrize("alpha", [None, 0.05, 0.1, 1.0, 100.0])
def test_every_sample_exactly_once_and_min_size(alpha):
    parts = partition(LABELS, 10, alpha, seed=3, min_size=10)
    allidx = np.concatenate(parts)
    assert len(allidx) == len(LABELS) and len(np.unique(allidx)) == len(LABELS)
    assert min(len(p) for p in parts) >= 10


def test_iid_is_equal_split():
    parts = iid_partition(1000, 7, np.random.default_rng(0))
    assert {len(p) for p in parts} <= {142, 143}


def test_seeded():
    a = partition(LABELS, 10, 0.1, seed=1)
    b = partition(LABELS, 10, 0.1, seed=1)
    assert all((x == y).all() for x, y in zip(a, b))


def test_heterogeneity_orders_alpha():
    h = {a: np.mean([heterogeneity(label_histogram(LABELS, partition(LABELS, 10, a, s), 10))
                     for s in range(5)]) for a in (0.05, 1.0, 100.0)}
    assert h[0.05] > h[1.0] > h[100.0]
    hist_iid = np.full((4, 10), 25)
    assert heterogeneity(hist_iid) == pytest.approx(0.0)
    assert heterogeneity(np.eye(10) * 100) == pytest.approx(0.9)


def test_impossible_min_size_is_a_clear_error():
    with pytest.raises(ValueError, match="min_client_size"):
        dirichlet_partition(LABELS, 10, 0.1, np.random.default_rng(0), min_size=200)


@pytest.mark.parametrize("clients, alpha", [(10, 0.01), (20, 0.1), (7, 1.0)])
def test_the_papers_balanced_split_deals_every_image_once_in_equal_sizes(clients, alpha):
    from dssl_lite.partition import partition

    labels = np.repeat(np.arange(10), 150)
    parts = partition(labels, clients, alpha, seed=3, kind="dirichlet-balanced")
    dealt = np.concatenate(parts)
    assert len(dealt) == len(labels) and len(np.unique(dealt)) == len(labels)  # every image, once
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 0.1 * len(labels) / clients  # equal up to rounding
    hist = np.stack([np.bincount(labels[p], minlength=10) for p in parts])
    assert (hist.sum(0) == 150).all()  # every class fully dealt
    assert parts[0].tolist() == partition(labels, clients, alpha, seed=3, kind="dirichlet-balanced")[0].tolist()
    if alpha < 0.1:  # still skewed: most clients hold few classes
        assert np.median((hist > 0.05 * hist.sum(1, keepdims=True)).sum(1)) <= 5
