import numpy as np
import pytest

from dssl_lite.topologies import adjacency, average_degree, fedavg_weights, metropolis_weights, mixing_matrix, spectral_gap


@pytest.mark.parametrize("topo,deg", [("ring", 2), ("regular", 4), ("erdos_renyi", 3), ("complete", 9)])
def test_metropolis_is_symmetric_doubly_stochastic(topo, deg):
    adj = adjacency(topo, 10, deg, np.random.default_rng(0))
    assert (adj == adj.T).all() and (np.diag(adj) == 0).all()
    w = metropolis_weights(adj)
    assert np.allclose(w, w.T) and np.allclose(w.sum(0), 1) and np.allclose(w.sum(1), 1) and (w >= 0).all()


def test_regular_degree_and_connectivity_order():
    adj = adjacency("regular", 20, 6, np.random.default_rng(1))
    assert (adj.sum(1) == 6).all() and average_degree(adj) == 6
    gaps = [spectral_gap(metropolis_weights(adjacency(t, 20, d, np.random.default_rng(0))))
            for t, d in [("ring", 2), ("regular", 6), ("complete", 19)]]
    assert gaps[0] < gaps[1] < gaps[2] == pytest.approx(1.0)


def test_fl_rows_are_size_weights():
    w = fedavg_weights(np.array([1, 3]))
    assert np.allclose(w, [[0.25, 0.75], [0.25, 0.75]]) and spectral_gap(w) == pytest.approx(1.0)


def test_none_is_identity_and_gossip_steps_power():
    _, w = mixing_matrix("none", 5, 2, np.ones(5), 0)
    assert np.allclose(w, np.eye(5))
    _, w1 = mixing_matrix("ring", 8, 2, np.ones(8), 0, steps=1)
    _, w3 = mixing_matrix("ring", 8, 2, np.ones(8), 0, steps=3)
    assert np.allclose(w3, np.linalg.matrix_power(w1, 3))


def test_star_is_one_hub_and_mixes_slowly():
    adj = adjacency("star", 8)
    assert adj[0, 1:].all() and adj[1:, 1:].sum() == 0 and (adj == adj.T).all()
    w = metropolis_weights(adj)
    assert np.allclose(w.sum(0), 1) and np.allclose(w.sum(1), 1)
    assert average_degree(adj) == pytest.approx(2 * 7 / 8)  # about a ring's
    assert spectral_gap(w) < spectral_gap(metropolis_weights(adjacency("ring", 8)))


def test_star_trains_and_is_offered_everywhere_from_its_one_file(capsys):
    """A topology is one file plus its registration: validation, the CLI and the explorer's
    dropdown read the registry, so `star` appears in all of them."""
    from dssl_lite import cli, preset
    from dssl_lite.experiment import train
    from dssl_lite.registry import TOPOLOGIES

    assert "star" in TOPOLOGIES
    metrics, history, sim = train(preset("tiny", topology="star", clients=5))
    assert len(history) == 2 and 0 < metrics["accuracy"] <= 1 and len(metrics["local_accuracies"]) == 5
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    assert "star" in capsys.readouterr().out
    from dssl_lite import docgen

    assert "| `star` |" in docgen.BLOCKS["topologies"]() and not docgen.stale()  # docs/design.md's table
    pytest.importorskip("ipywidgets")
    from dssl_widgets import build_explorer

    assert "star" in build_explorer("tiny", backend="image").controls["topology"].options


@pytest.mark.parametrize("n, k", [(20, 10), (12, 2), (8, 1), (30, 4)])
def test_the_papers_min_degree_graph_is_connected_with_every_degree_at_least_k(n, k):
    import networkx as nx

    adj = adjacency("min_degree", n, k, np.random.default_rng(5))
    assert (adj == adj.T).all() and (np.diag(adj) == 0).all() and (adj.sum(1) >= k).all()
    assert nx.is_connected(nx.from_numpy_array(adj))
    assert np.array_equal(adj, adjacency("min_degree", n, k, np.random.default_rng(5)))  # seeded
    assert not np.array_equal(adj, adjacency("min_degree", n, k, np.random.default_rng(6)))


def test_size_mixing_rows_sum_to_one_and_weigh_by_data_size():
    from dssl_lite.topologies import size_weights

    adj = adjacency("ring", 5)
    sizes = np.array([10, 20, 30, 40, 50])
    w = size_weights(adj, sizes)
    assert np.allclose(w.sum(1), 1) and (w[adj + np.eye(5, dtype=int) == 0] == 0).all()
    assert w[0, 1] == pytest.approx(20 / (10 + 20 + 50)) and w[0, 4] == pytest.approx(50 / 80)
    _, w2 = mixing_matrix("ring", 5, 2, sizes, 0, rule="size")
    assert np.allclose(w2, w)
