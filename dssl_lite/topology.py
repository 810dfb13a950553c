"""Who talks to whom: client graphs, Metropolis mixing matrices and how fast they mix.

`fl` is a server that averages everyone (weighted by data size); `ring`, `regular`, `erdos_renyi`
and `complete` are DecL gossip graphs; `none` is local training with no communication (a floor).
Pure functions of numpy arrays and an explicit generator.
"""
from __future__ import annotations

from typing import Optional

import networkx as nx
import numpy as np


def adjacency(topology: str, n: int, degree: int = 2, rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """Symmetric 0/1 adjacency `[n, n]` without self-loops. `fl` is the complete graph (the server
    reaches everyone); `none` is empty."""
    rng = rng or np.random.default_rng(0)
    if topology in ("fl", "complete"):
        return (1 - np.eye(n)).astype(np.int64)
    if topology == "none":
        return np.zeros((n, n), np.int64)
    if topology == "ring":
        g = nx.cycle_graph(n) if n > 2 else nx.path_graph(n)
    elif topology == "regular":
        for _ in range(1000):  # the paper's code uses random regular graphs; keep them connected
            g = nx.random_regular_graph(degree, n, seed=int(rng.integers(2**31)))
            if nx.is_connected(g):
                break
        else:
            raise ValueError(f"degree: no connected {degree}-regular graph on {n} nodes found")
    elif topology == "erdos_renyi":
        p = min(1.0, degree / (n - 1))
        for _ in range(1000):  # re-draw until connected, as DESIGN.md specifies
            g = nx.gnp_random_graph(n, p, seed=int(rng.integers(2**31)))
            if nx.is_connected(g):
                break
        else:
            raise ValueError(f"degree: G(n={n}, p={p:.3f}) never came out connected; raise degree")
    else:
        raise ValueError(f"topology: got {topology!r}")
    return nx.to_numpy_array(g, nodelist=range(n), dtype=np.int64)


def metropolis_weights(adj: np.ndarray) -> np.ndarray:
    """Metropolis-Hastings mixing matrix: W_ij = 1/(1+max(d_i, d_j)) on edges, the rest on the
    diagonal. Symmetric and doubly stochastic, so gossip preserves the average model."""
    deg = adj.sum(1)
    w = np.where(adj > 0, 1.0 / (1.0 + np.maximum(deg[:, None], deg[None, :])), 0.0)
    return w + np.diag(1.0 - w.sum(1))


def fedavg_weights(sizes: np.ndarray) -> np.ndarray:
    """The FL 'mixing matrix': every row is the data-size weighting, so each client gets the average."""
    w = np.asarray(sizes, dtype=float) / np.sum(sizes)
    return np.tile(w, (len(w), 1))


def spectral_gap(w: np.ndarray) -> float:
    """1 - |lambda_2|: 1 for exact averaging (FL, complete), near 0 for slow mixing (long rings)."""
    eig = np.sort(np.abs(np.linalg.eigvals(w)))[::-1]
    return float(1.0 - eig[1]) if len(eig) > 1 else 1.0


def average_degree(adj: np.ndarray) -> float:
    return float(adj.sum() / len(adj))


def mixing_matrix(topology: str, n: int, degree: int, sizes: np.ndarray, seed: int,
                  steps: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(adjacency, W^steps) for a run; W is what one communication round applies to the stacked
    client parameters: theta <- W @ theta."""
    adj = adjacency(topology, n, degree, np.random.default_rng(seed + 1))
    w = fedavg_weights(sizes) if topology == "fl" else metropolis_weights(adj)
    return adj, np.linalg.matrix_power(w, steps)
