"""Decentralised (DecL) graphs: each client gossips with its neighbours, theta <- W @ theta (with
Metropolis weights, or the paper's data-size weights: the `mixing` field); and `none`, no
communication at all. `min_degree` is the paper's graph (decentralized.py, its `-mc` knob)."""
from __future__ import annotations

import math

import networkx as nx
import numpy as np

from ..registry import TOPOLOGIES, Param
from . import GOSSIP, Topology, as_array, connected, gossip, keep_local


def complete(n, degree, rng):
    return (1 - np.eye(n)).astype(np.int64)


def ring(n, degree, rng):
    return as_array(nx.cycle_graph(n) if n > 2 else nx.path_graph(n))


def regular(n, degree, rng):
    return connected(lambda s: nx.random_regular_graph(degree, n, seed=s), rng,
                     f"a {degree}-regular graph on {n} nodes")


def erdos_renyi(n, degree, rng):
    p = min(1.0, degree / (n - 1))
    return connected(lambda s: nx.gnp_random_graph(n, p, seed=s), rng, f"G(n={n}, p={p:.3f})")


def min_degree(n, degree, rng):
    """A random spanning tree (node i joins a random earlier node), then, node by node, random
    new neighbours until every node has at least `degree`: connected by construction, its
    average degree above `degree` (about 11.7 at 20 nodes and degree 10)."""
    adj = np.zeros((n, n), np.int64)
    for i in range(1, n):
        j = int(rng.integers(i))
        adj[i, j] = adj[j, i] = 1
    for v in range(n):
        while adj[v].sum() < degree:
            free = np.flatnonzero(adj[v] == 0)
            free = free[free != v]
            if not len(free):
                break
            u = int(rng.choice(free))
            adj[v, u] = adj[u, v] = 1
    return adj


def check_min_degree(n, d):
    if not 1 <= d <= n - 1:
        return f"got {d}; allowed: 1 to {n - 1} for {n} clients"
    return None


def check_regular(n, d):
    if d >= n:
        return f"got {d}; allowed: 2 to {n - 1} for {n} clients"
    if d < 2 and n > 2:
        return f"got {d}; a 1-regular graph on {n} clients is disconnected; allowed: 2 to {n - 1}"
    if (n * d) % 2:
        return f"a {d}-regular graph on {n} clients needs clients*degree even; got {n}*{d}"
    return None


def check_erdos_renyi(n, d):
    if d >= n:
        return f"got {d}; allowed: 1 to {n - 1} for {n} clients"
    # P(G(n, p=d/(n-1)) connected) ~ exp(-n e^-d) (Erdos-Renyi 1960): below ~e^-4 the 1000 seeded
    # re-draws would likely all fail, so say so now rather than after a minute of drawing.
    if n * math.exp(-d) > 4:
        need = math.ceil(math.log(n / 4))
        return f"got {d}; G(n={n}) with expected degree {d} is almost never connected; allowed: {need} to {n - 1}"
    return None


DEGREE = Param("degree", 2, "node degree (regular), expected degree (erdos_renyi), least degree (min_degree)", lo=1)
WITH_DEGREE = (*GOSSIP, DEGREE)

TOPOLOGIES.register("ring", "decentralised: each client gossips with its two neighbours on a cycle", params=GOSSIP, colour="#9467bd")(
    Topology(ring, aggregate=gossip))
TOPOLOGIES.register("regular", "decentralised: a random connected graph, every client has `degree` neighbours",
                    params=WITH_DEGREE, colour="#bcbd22")(Topology(regular, aggregate=gossip, check=check_regular))
TOPOLOGIES.register("erdos_renyi", "decentralised: random edges, `degree` neighbours on average, connected",
                    params=WITH_DEGREE, colour="#7f7f7f")(Topology(erdos_renyi, aggregate=gossip, check=check_erdos_renyi))
TOPOLOGIES.register("min_degree", "decentralised, the paper's graph: a random tree, then edges until every client "
                    "has `degree`", params=WITH_DEGREE, colour="#e377c2")(Topology(min_degree, aggregate=gossip, check=check_min_degree))
TOPOLOGIES.register("complete", "decentralised: everyone gossips with everyone", params=GOSSIP, colour="#8c564b")(
    Topology(complete, aggregate=gossip))
TOPOLOGIES.register("none", "no communication: every client trains alone (a floor)", colour="#c7c7c7")(
    Topology(lambda n, d, rng: np.zeros((n, n), np.int64), aggregate=keep_local))
