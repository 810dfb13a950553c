"""Who talks to whom: client graphs, mixing matrices, and how each topology aggregates.

Each topology is registered once (`registry.TOPOLOGIES`) with its graph builder, a feasibility
check, its mixing matrix and its aggregator, so config validation, the CLI's choices, the
explorer's dropdown, the docs table and the engine all follow from its one definition. A new
topology is one file in this folder (`star.py` is an example): every module here is imported.
Graph builders and mixing rules are pure functions of numpy arrays and an explicit generator.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple, Optional

import networkx as nx
import numpy as np
import torch

from ..registry import TOPOLOGIES, Param, import_all

Graph = Callable[[int, int, np.random.Generator], np.ndarray]  # (n, degree, rng) -> adjacency [n, n]


class Mix(NamedTuple):
    """What an aggregator may read about the stacked runs it averages: R runs of K clients."""

    R: int
    K: int
    sizes: torch.Tensor              # [R*K] images per client
    taking: Optional[torch.Tensor]   # [R*K] bool: this round's participants (None = everyone)
    W: torch.Tensor                  # [R, K, K] each run's mixing matrix (gossip steps applied)


Aggregate = Callable[[list, Mix], None]  # (tensors [R*K, ...], mix) -> None; averages in place


@dataclass(frozen=True)
class Topology:
    graph: Graph
    aggregate: Aggregate
    federated: bool = False        # a server averages (FedAvg) instead of gossip
    check: Callable[[int, int], Optional[str]] = lambda n, d: None  # -> why (n, degree) is impossible


# The fields a gossip graph reads (declared by each graph that gossips, `TOPOLOGIES.register(...,
# params=GOSSIP)`); a graph with a degree adds `graphs.DEGREE`, FL `federated.PARTICIPATION`.
GOSSIP_STEPS = Param("gossip_steps", 1, "mixing steps per round (DecL)", lo=1, hi=100)
DROPOUT = Param("dropout", 0.0, "the chance, each round, that a client's update is lost (FL) or that an edge "
                "fails (DecL), seeded by run seed and round", lo=0.0, hi=0.99)
MIXING = Param("mixing", "metropolis", "DecL weights: metropolis (symmetric) or size (as the paper's code: a client "
               "and its neighbours by data size)", choices=("metropolis", "size"))
GOSSIP = (GOSSIP_STEPS, MIXING, DROPOUT)


def get(name: str) -> Topology:
    return TOPOLOGIES.get(name).obj


def uses_degree(name: str) -> bool:
    return any(p.name == "degree" for p in TOPOLOGIES.params(name))


# ----- graphs -----
def as_array(g) -> np.ndarray:
    """A networkx graph as a 0/1 adjacency matrix, nodes in order."""
    return nx.to_numpy_array(g, nodelist=range(g.number_of_nodes()), dtype=np.int64)


def connected(draw: Callable[[int], "nx.Graph"], rng: np.random.Generator, what: str) -> np.ndarray:
    """Re-draw (seeded) until connected: gossip must reach everyone."""
    for _ in range(1000):
        g = draw(int(rng.integers(2**31)))
        if nx.is_connected(g):
            return as_array(g)
    raise ValueError(f"degree: {what} never came out connected in 1000 draws; raise degree")


def label(topology: str, degree: int) -> str:
    """A graph's name for people: `ring`, `min-degree 4`, `regular-4`, `complete`, `fl`."""
    if not uses_degree(topology):
        return topology
    return f"min-degree {degree}" if topology == "min_degree" else f"{topology}-{degree}"


def adjacency(topology: str, n: int, degree: int = 2, rng: Optional[np.random.Generator] = None) -> np.ndarray:
    """Symmetric 0/1 adjacency `[n, n]` without self-loops (`fl`: the server reaches everyone)."""
    return get(topology).graph(n, degree, rng or np.random.default_rng(0))


# ----- mixing -----
def metropolis_weights(adj: np.ndarray) -> np.ndarray:
    """Metropolis-Hastings mixing matrix: W_ij = 1/(1+max(d_i, d_j)) on edges, the rest on the
    diagonal. Symmetric and doubly stochastic, so gossip preserves the average model."""
    deg = adj.sum(1)
    w = np.where(adj > 0, 1.0 / (1.0 + np.maximum(deg[:, None], deg[None, :])), 0.0)
    return w + np.diag(1.0 - w.sum(1))


def size_weights(adj: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """The paper's gossip (main.py): each node averages itself and its neighbours weighted by
    their data sizes, W_jk = n_k / sum of n_l over j and its neighbours. Rows sum to 1; not
    symmetric, so the clients agree on a size-weighted average, not the plain one."""
    reach = (adj > 0) | np.eye(len(adj), dtype=bool)
    w = reach * np.asarray(sizes, dtype=float)[None, :]
    return w / w.sum(1, keepdims=True)


def fedavg_weights(sizes: np.ndarray) -> np.ndarray:
    """The FL 'mixing matrix': every row is the data-size weighting, so each client gets the
    average (what FedAvg computes when everyone takes part; its spectral gap is 1)."""
    w = np.asarray(sizes, dtype=float) / np.sum(sizes)
    return np.tile(w, (len(w), 1))


def spectral_gap(w: np.ndarray) -> float:
    """1 - |lambda_2|: 1 for exact averaging (FL, complete), near 0 for slow mixing (long rings)."""
    eig = np.sort(np.abs(np.linalg.eigvals(w)))[::-1]
    return float(1.0 - eig[1]) if len(eig) > 1 else 1.0


def average_degree(adj: np.ndarray) -> float:
    return float(adj.sum() / len(adj))


def mixing_matrix(topology: str, n: int, degree: int, sizes: np.ndarray, seed: int,
                  steps: int = 1, rule: str = "metropolis") -> tuple[np.ndarray, np.ndarray]:
    """(adjacency, W^steps) for a run; W is what one communication round applies to the stacked
    client parameters, theta <- W @ theta, with `rule` metropolis or size for DecL graphs."""
    adj = adjacency(topology, n, degree, np.random.default_rng(seed + 1))
    return adj, mixing_of(topology, adj, sizes, steps, rule)


def mixing_of(topology: str, adj: np.ndarray, sizes: np.ndarray, steps: int = 1, rule: str = "metropolis") -> np.ndarray:
    """One round's W on the graph `adj`: FedAvg's data-size weights for a federated topology,
    else `gossip_power`."""
    return fedavg_weights(sizes) if get(topology).federated else gossip_power(adj, sizes, steps, rule)


def gossip_power(adj: np.ndarray, sizes: np.ndarray, steps: int, rule: str) -> np.ndarray:
    """W^steps of a gossip graph `adj` under the mixing `rule` (metropolis or size)."""
    w = size_weights(adj, sizes) if rule == "size" else metropolis_weights(adj)
    return np.linalg.matrix_power(w, steps)


def failed_edges(adj: np.ndarray, p: float, seed: int, round_index: int) -> np.ndarray:
    """`adj` with each edge failed (removed, both ways) with probability `p` for this round,
    seeded by (run seed, round): every executor, stacking and machine sees the same failures."""
    if p <= 0:
        return adj
    i, j = np.triu_indices(len(adj), 1)
    on = adj[i, j] > 0
    fail = np.random.default_rng([seed, 2, round_index]).random(int(on.sum())) < p
    out = adj.copy()
    out[i[on][fail], j[on][fail]] = out[j[on][fail], i[on][fail]] = 0
    return out


def lost_updates(n: int, p: float, seed: int, round_index: int) -> np.ndarray:
    """[n] bool: FL clients whose update is lost this round (each with probability `p`), seeded by
    (run seed, round) as `failed_edges`."""
    if p <= 0:
        return np.zeros(n, dtype=bool)
    return np.random.default_rng([seed, 3, round_index]).random(n) < p


def consensus_distance(params: dict, R: int, K: int) -> list[float]:
    """Per run of stacked `[R*K, ...]` parameters: the mean over its clients of
    ||theta_k - theta_bar||^2 / ||theta_bar||^2 (0 when they agree, as after FedAvg)."""
    num = torch.zeros(R, dtype=torch.float64)
    den = torch.zeros(R, dtype=torch.float64)
    for p in params.values():
        v = p.view(R, K, -1).double()
        mean = v.mean(1, keepdim=True)
        num += ((v - mean) ** 2).sum((1, 2)).cpu() / K
        den += (mean ** 2).sum((1, 2)).cpu()
    return (num / den.clamp_min(1e-12)).tolist()


# ----- aggregators: how a round's local models become the next round's -----
# Run by run (not one batched op over the stack), so a run's numbers never depend on what it is
# stacked with: a batched matmul over one run takes another kernel path than over several.
def fedavg(tensors: list, mix: Mix) -> None:
    """FL: each run's participants averaged, weighted by data size, written to every client."""
    w = mix.sizes.reshape(mix.R, mix.K).clone()
    if mix.taking is not None:
        w = w * mix.taking.reshape(mix.R, mix.K)
    total = w.sum(1, keepdim=True)
    w = w / total.clamp_min(1e-30)
    for t in tensors:
        v = t.view(mix.R, mix.K, -1)
        for r in range(mix.R):
            if total[r] > 0:  # a run with no update to average keeps its clients (see Simulator.end_round)
                v[r].copy_((w[r].to(t.dtype) @ v[r]).expand_as(v[r]))


def gossip(tensors: list, mix: Mix) -> None:
    """DecL: theta <- W @ theta for each run (W already holds `gossip_steps` steps)."""
    for t in tensors:
        v = t.view(mix.R, mix.K, -1)
        for r in range(mix.R):
            v[r].copy_(mix.W[r].to(t.dtype) @ v[r])


def keep_local(tensors: list, mix: Mix) -> None:
    """No communication: every client keeps its own model."""


# Registration: each module in this folder registers its topologies when imported, these first
# (their order is the dropdown's), then any other, by name.
import_all(__name__, __path__, first=("federated", "graphs", "star"))
