"""`fl`: federated learning. A server averages the round's participants, weighted by data size
(FedAvg, McMahan et al. 2017), and sends the average to every client."""
from __future__ import annotations

import numpy as np

from ..registry import TOPOLOGIES, Param
from . import DROPOUT, Topology, fedavg

PARTICIPATION = Param("participation", 1.0, "FL: the fraction of clients sampled each round", lo=0.0, hi=1.0,
                      lo_open=True, strict=True)


def server(n, degree, rng):
    """The server reaches everyone: drawn as the complete graph (its average degree is K-1)."""
    return (1 - np.eye(n)).astype(np.int64)


TOPOLOGIES.register("fl", "federated: a server averages the participants every round (FedAvg)",
                    params=(PARTICIPATION, DROPOUT), colour="#222222")(
    Topology(server, aggregate=fedavg, federated=True))
