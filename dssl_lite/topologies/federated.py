"""`fl`: federated learning. A server averages the round's participants, weighted by data size
(FedAvg, McMahan et al. 2017), and sends the average to every client."""
from __future__ import annotations

from ..registry import TOPOLOGIES
from . import Topology, fedavg
from .graphs import complete

TOPOLOGIES.register("fl", "federated: a server averages the participants every round (FedAvg)")(
    Topology(complete, aggregate=fedavg, federated=True))
