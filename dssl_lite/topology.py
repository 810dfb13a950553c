"""Who talks to whom: client graphs, mixing matrices and how fast they mix.

Each topology is registered once with its graph builder and a feasibility check, so a config
that names an impossible graph is rejected before any work starts. `fl` is a server that averages
the round's participants (weighted by data size); `ring`, `regular`, `erdos_renyi` and `complete`
are DecL gossip graphs with Metropolis weights; `none` is local training with no communication.
Pure functions of numpy arrays and an explicit generator.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Optional

import networkx as nx
import numpy as np

from .registry import TOPOLOGIES

Graph = Callable[[int, int, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class Topology:
    graph: Graph                                   # (n, degree, rng) -> adjacency [n, n]
    federated: bool = False                        # a server averages (FedAvg) instead of gossip
    uses_degree: bool = False                      # the `degree` field matters
    check: Callable[[int, int], Optional[str]] = lambda n, d: None  # -> why (n, degree) is impossible


def _nx(g) -> np.ndarray:
    return nx.to_numpy_array(g, nodelist=range(g.number_of_nodes()), dtype=np.int64)


def _connected(draw: Callable[[int], "nx.Graph"], rng: np.random.Generator, what: str) -> np.ndarray:
    for _ in range(1000):  # re-draw (seeded) until connected: gossip must reach everyone
        g = draw(int(rng.integers(2**31)))
        if nx.is_connected(g):
            return _nx(g)
    raise ValueError(f"degree: {what} never came out connected in 1000 draws; raise degree")


def _complete(n, degree, rng):
    return (1 - np.eye(n)).astype(np.int64)


def _regular(n, degree, rng):
    return _connected(lambda s: nx.random_regular_graph(degree, n, seed=s), rng,
                      f"a {degree}-regular graph on {n} nodes")


def _erdos_renyi(n, degree, rng):
    p = min(1.0, degree / (n - 1))
    return _connected(lambda s: nx.gnp_random_graph(n, p, seed=s), rng, f"G(n={n}, p={p:.3f})")


def _check_regular(n, d):
    if d >= n:
        return f"got {d}; allowed: 2 to {n - 1} for {n} clients"
    if d < 2 and n > 2:
        return f"got {d}; a 1-regular graph on {n} clients is disconnected; allowed: 2 to {n - 1}"
    if (n * d) % 2:
        return f"a {d}-regular graph on {n} clients needs clients*degree even; got {n}*{d}"
    return None


def _check_erdos_renyi(n, d):
    if d >= n:
        return f"got {d}; allowed: 1 to {n - 1} for {n} clients"
    # P(G(n, p=d/(n-1)) connected) ~ exp(-n e^-d) (Erdos-Renyi 1960): below ~e^-4 the 1000 seeded
    # re-draws would likely all fail, so say so now rather than after a minute of drawing.
    if n * math.exp(-d) > 4:
        need = math.ceil(math.log(n / 4))
        return f"got {d}; G(n={n}) with expected degree {d} is almost never connected; allowed: {need} to {n - 1}"
    return None


TOPOLOGIES.register("fl", "federated: a server averages the participants every round (FedAvg)")(
    Topology(_complete, federated=True))
TOPOLOGIES.register("ring", "decentralised: each client gossips with its two neighbours on a cycle")(
    Topology(lambda n, d, rng: _nx(nx.cycle_graph(n) if n > 2 else nx.path_graph(n))))
TOPOLOGIES.register("regular", "decentralised: a random connected graph, every client has `degree` neighbours")(
    Topology(_regular, uses_degree=True, check=_check_regular))
TOPOLOGIES.register("erdos_renyi", "decentralised: random edges, `degree` neighbours on average, connected")(
    Topology(_erdos_renyi, uses_degree=True, check=_check_erdos_renyi))
TOPOLOGIES.register("complete", "decentralised: everyone gossips with everyone")(Topology(_complete))
TOPOLOGIES.register("none", "no communication: every client trains alone (a floor)")(
    Topology(lambda n, d, rng: np.zeros((n, n), np.int64)))


def get(name: str) -> Topology:
    return TOPOLOGIES.get(name).obj


def adjacency(topology: str, n: int, degree: int = 2, rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """Symmetric 0/1 adjacency `[n, n]` without self-loops (`fl`: the server reaches everyone)."""
    return get(topology).graph(n, degree, rng or np.random.default_rng(0))


def metropolis_weights(adj: np.ndarray) -> np.ndarray:
    """Metropolis-Hastings mixing matrix: W_ij = 1/(1+max(d_i, d_j)) on edges, the rest on the
    diagonal. Symmetric and doubly stochastic, so gossip preserves the average model."""
    deg = adj.sum(1)
    w = np.where(adj > 0, 1.0 / (1.0 + np.maximum(deg[:, None], deg[None, :])), 0.0)
    return w + np.diag(1.0 - w.sum(1))


def fedavg_weights(sizes: np.ndarray) -> np.ndarray:
    """The FL 'mixing matrix': every row is the data-size weighting, so each client gets the
    average. Clients with size 0 (not sampled this round) get no weight."""
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
    w = fedavg_weights(sizes) if get(topology).federated else metropolis_weights(adj)
    return adj, np.linalg.matrix_power(w, steps)
