"""What a run's communication costs: the bytes every round moves, counted from its federation.

One message is one client's model: every parameter the round averages (the whole objective
module, encoder and heads) plus the objective's mixed state (MAR's global latent), as float32.
- FL: each round's participants download the server's model and upload theirs; an update lost to
  `dropout` was downloaded but never arrives. The server is the busiest node: it sends and
  receives every message.
- DecL: each gossip step every client sends its model to each neighbour it still hears this round
  (an edge failed by `dropout` carries nothing): 2 x edges messages per step, `gossip_steps` steps.
- `none`: nothing.
A node's traffic is what it sends plus what it receives. Counted from the config alone (the split,
the graph, the participant schedule and the seeded failures), so every stored run has it, even
one measured before it was counted.

Example:
    >>> communication(preset("live", topology="ring"))["bytes_per_round"]
"""
from __future__ import annotations

import functools

import numpy as np

from . import topologies
from .config import Config
from .federation import network

FLOAT32 = 4


def model_bytes(cfg: Config) -> int:
    """Bytes of one message: the parameters and the mixed objective state of one client."""
    model_only = cfg.replace(seed=0, alpha=None, topology="fl", participation=1.0, dropout=0.0)
    return _model_bytes(model_only)  # one model per architecture, not one per run


@functools.lru_cache(maxsize=64)
def _model_bytes(cfg: Config) -> int:
    import torch

    from .data import load
    from .objectives import create_objective

    with torch.random.fork_rng(devices=[]):
        model = create_objective(cfg, load(cfg.dataset, cfg.image_size).channels)
    params = {n: p.detach() for n, p in model.named_parameters()}
    mixed = [t for n, t in model.init_state(params).items() if model.mixed_state and n.startswith(model.mixed_state)]
    return FLOAT32 * (sum(p.numel() for p in params.values()) + sum(t.numel() for t in mixed))


def per_round(cfg: Config) -> list[tuple[float, np.ndarray]]:
    """For each round: (bytes sent in it, each node's traffic [K] or [K + 1] with FL's server last)."""
    (adj, schedule), m, out = network(cfg), model_bytes(cfg), []
    K, p, seed = cfg.clients, cfg.dropout, cfg.seed
    federated = topologies.get(cfg.topology).federated
    for r in range(cfg.rounds):
        if federated:
            who = np.zeros(K, dtype=bool)
            who[schedule[r] if schedule is not None else slice(None)] = True
            up = who & ~topologies.lost_updates(K, p, seed, r)
            node = np.append((who.astype(float) + up) * m, (who.sum() + up.sum()) * m)  # clients, then the server
            out.append(((who.sum() + up.sum()) * m, node))
        elif cfg.topology == "none":
            out.append((0.0, np.zeros(K)))
        else:
            deg = topologies.failed_edges(adj, p, seed, r).sum(1)
            steps = cfg.gossip_steps
            out.append((float(deg.sum()) * m * steps, 2.0 * deg * m * steps))
    return out


def communication(cfg: Config) -> dict:
    """`bytes_per_round` (mean over rounds), `bytes_per_client_per_round` (mean over the clients
    and rounds of what a client sends and receives), `bytes_busiest_per_round` (the busiest node's:
    FL's server, or the best-connected client) and `total_bytes` (the whole run)."""
    rounds = per_round(cfg)
    sent = np.array([b for b, _ in rounds])
    nodes = np.array([n for _, n in rounds])  # [rounds, nodes]
    clients = nodes[:, :cfg.clients]
    return {"bytes_per_round": float(sent.mean()), "bytes_per_client_per_round": float(clients.mean()),
            "bytes_busiest_per_round": float(nodes.mean(0).max()), "total_bytes": float(sent.sum())}
