"""`star`: one hub client gossips with every other client; the others talk only to the hub.

Its average degree is about 2, like a ring's, yet every model is at most two hops from every
other: a lesson in why average degree alone does not say how fast gossip mixes (with Metropolis
weights a leaf keeps 1 - 1/K of its own model each round, so the spectral gap is about 1/K).
"""
from __future__ import annotations

import numpy as np

from ..registry import TOPOLOGIES
from . import GOSSIP, Topology, gossip


def star(n: int, degree: int, rng: np.random.Generator) -> np.ndarray:
    adj = np.zeros((n, n), np.int64)
    adj[0, 1:] = adj[1:, 0] = 1  # client 0 is the hub
    return adj


TOPOLOGIES.register("star", "decentralised: one hub client gossips with all others, who talk only to it",
                    params=GOSSIP, colour="#17becf")(
    Topology(star, aggregate=gossip))
