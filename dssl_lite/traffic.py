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

from .config import Config
from .federation import Federation

FLOAT32 = 4


def model_bytes(cfg: Config) -> int:
    """Bytes of one message: the parameters and the mixed objective state of one client."""
    return _model_bytes(cfg.replace(seed=0, alpha=None, topology="fl", participation=1.0, dropout=0.0).key(), cfg)


@functools.lru_cache(maxsize=64)
def _model_bytes(key: str, cfg: Config) -> int:
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
    fed, m, out = Federation.from_config(cfg), model_bytes(cfg), []
    K = cfg.clients
    for r in range(cfg.rounds):
        if fed.topology.federated:
            who = np.zeros(K, dtype=bool)
            who[fed.participants(r) if fed.participants(r) is not None else slice(None)] = True
            up = who & ~fed.lost(r)
            node = np.append((who.astype(float) + up) * m, (who.sum() + up.sum()) * m)  # clients, then the server
            out.append(((who.sum() + up.sum()) * m, node))
        elif cfg.topology == "none":
            out.append((0.0, np.zeros(K)))
        else:
            deg = fed.graph_at(r).sum(1)
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


# ----- what it costs, beside what it buys (docs/fidelity.md) -----
def traffic_markdown(base: Config, objectives=("mim", "cl")) -> str:
    """Finding 2's graphs at `base` with what they send: bytes per round, the busiest node's, and
    each objective's robustness (mean over seeds): the trade-off connectivity is."""
    from . import atlas
    from .findings import label
    from .findings.connectivity import graph_arms
    from .findings.render import md_table

    table, body = atlas.everything(), []
    robust = {o: label(table, graph_arms(base.replace(objective=o))) for o in objectives}
    for name, cfg in graph_arms(base):
        c = communication(cfg)
        cells = []
        for o in objectives:
            got = robust[o][robust[o]["arm"] == name]["robustness"]
            cells.append(f"{got.mean():.3f}" if len(got) else "-")
        body.append([name, f"{c['bytes_per_round'] / 1e6:.1f}", f"{c['bytes_busiest_per_round'] / 1e6:.1f}", *cells])
    return md_table(["graph", "MB per round", "busiest node, MB per round", *[f"{o.upper()} robustness" for o in objectives]],
                    body)


def dropout_markdown(base: Config, rates=(0.0, 0.2, 0.5), objectives=("mim", "cl")) -> str:
    """Robustness against `dropout` in FL and on a ring at `base`: each objective's (mean [95 %]
    over seeds), MIM - CL paired (finding 1's statistic) and the bytes really sent per round."""
    from . import atlas
    from .findings import FINDINGS, label
    from .findings.render import md_table, mean_ci

    table, body = atlas.everything(), []
    for topo in ("fl", "ring"):
        for p in rates:
            b = base.replace(topology=topo, dropout=p, **({"mixing": "size"} if topo == "ring" else {}))
            arms = label(table, [(o, b.replace(objective=o)) for o in objectives])
            if arms["arm"].nunique() < len(objectives):
                continue
            j = FINDINGS[1].statistic(arms, b, dict(finding=1, claim="", setting="", objective="", statistic="",
                                                    sesoi=FINDINGS[1].sesoi))
            body.append([topo, f"{p:g}", *[mean_ci(arms[arms["arm"] == o]["robustness"]) for o in objectives],
                         j.numbers, j.verdict, f"{communication(b)['bytes_per_round'] / 1e6:.1f}"])
    if not body:
        return "(not measured: dssl-lite atlas build examples/atlas_live_dropout.yaml --out data/atlas/live-dropout.csv)"
    return md_table(["graph", "dropout", *[f"{o.upper()} robustness" for o in objectives], "MIM - CL (paired) [95 %]",
                     "verdict", "MB sent per round"], body)
