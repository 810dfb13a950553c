"""Property tests (hypothesis): the partition and mixing-matrix contracts for any size and seed."""
import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dssl_lite.partition import heterogeneity, label_histogram, partition
from dssl_lite.topologies import adjacency, metropolis_weights, spectral_gap

FAST = settings(max_examples=40, deadline=None)


@FAST
@given(classes=st.integers(2, 10), per_class=st.integers(20, 60), clients=st.integers(2, 8),
       alpha=st.one_of(st.none(), st.floats(0.05, 100.0)), min_size=st.integers(1, 5),
       seed=st.integers(0, 2**31 - 1))
def test_partition_covers_every_sample_once_and_honours_min_size(classes, per_class, clients, alpha,
                                                                 min_size, seed):
    labels = np.repeat(np.arange(classes), per_class)
    parts = partition(labels, clients, alpha, seed, min_size)
    ids = np.concatenate(parts)
    assert len(parts) == clients and np.array_equal(np.sort(ids), np.arange(len(labels)))
    assert min(len(p) for p in parts) >= (min_size if alpha is not None else len(labels) // clients)


@FAST
@given(clients=st.integers(2, 8), seed=st.integers(0, 10_000))
def test_large_alpha_approaches_iid(clients, seed):
    labels = np.repeat(np.arange(10), 200)
    het = {a: heterogeneity(label_histogram(labels, partition(labels, clients, a, seed), 10))
           for a in (0.05, 1e4, None)}
    assert het[1e4] < 0.1 and het[None] < 0.1  # 2,000 samples: sampling noise only
    assert het[0.05] > het[1e4]


@FAST
@given(n=st.integers(3, 24), degree=st.integers(2, 8), seed=st.integers(0, 10_000),
       topology=st.sampled_from(["ring", "regular", "erdos_renyi", "complete"]))
def test_metropolis_is_symmetric_doubly_stochastic(n, degree, seed, topology):
    degree = min(degree, n - 1)
    assume(topology != "regular" or n * degree % 2 == 0)  # a d-regular graph on n nodes needs n*d even
    adj = adjacency(topology, n, degree, np.random.default_rng(seed))
    w = metropolis_weights(adj)
    assert np.allclose(w, w.T) and np.allclose(w.sum(0), 1) and np.allclose(w.sum(1), 1) and (w >= -1e-12).all()
    assert 0.0 <= spectral_gap(w) <= 1.0 + 1e-9


@FAST
@given(n=st.integers(6, 30), seed=st.integers(0, 10_000))
def test_spectral_gap_rises_with_degree(n, seed):
    rng = lambda: np.random.default_rng(seed)
    gap = lambda t, d: spectral_gap(metropolis_weights(adjacency(t, n, d, rng())))
    assert gap("ring", 2) < gap("regular", 4) <= gap("complete", n - 1) + 1e-9
