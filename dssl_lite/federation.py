"""A federation: which images each client holds and who talks to whom, for one config, before any
training. The explorer's preview draws it and the simulator trains on it: both ask
`Federation.from_config`, which returns the same cached object for the same setting, so the
preview is by construction what trains.

Example:
    >>> fed = Federation.from_config(preset("live"))
    >>> fed.sizes, fed.heterogeneity, fed.spectral_gap
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Optional

import numpy as np

from . import topologies
from .config import Config
from .errors import ConfigError
from .partition import heterogeneity, label_histogram, partition


@dataclass(frozen=True, eq=False)
class Federation:
    """Pure data: the split, the graph and the participant schedule of one run."""

    setting: Config              # the fields that decide the federation (the others at their defaults)
    parts: tuple                 # K sorted index arrays into the training images
    sizes: np.ndarray            # [K] images per client
    histogram: np.ndarray        # [K, C] label counts per client
    adjacency: np.ndarray        # [K, K] 0/1, no self-loops (fl: everyone)
    W: np.ndarray                # [K, K] one communication round's mixing matrix
    schedule: Optional[tuple]    # per round, the sampled clients (participation < 1); None = all

    @classmethod
    def from_config(cls, cfg: Config) -> "Federation":
        """The federation of `cfg` (cached: the fields that decide it, nothing else)."""
        return _federation(cfg.dataset, cfg.image_size, cfg.clients, cfg.alpha, cfg.seed,
                           cfg.min_client_size, cfg.partition, cfg.topology, cfg.degree, cfg.gossip_steps,
                           cfg.mixing, cfg.participation, cfg.rounds, cfg.dropout)

    @property
    def topology(self) -> topologies.Topology:
        return topologies.get(self.setting.topology)

    @property
    def heterogeneity(self) -> float:
        """0 = IID, near 1 = disjoint classes (`partition.heterogeneity`)."""
        return heterogeneity(self.histogram)

    @property
    def spectral_gap(self) -> float:
        return topologies.spectral_gap(self.W)

    @property
    def average_degree(self) -> float:
        return topologies.average_degree(self.adjacency)

    def participants(self, round_index: int) -> Optional[np.ndarray]:
        """The clients that train in round `round_index` (0-based); None = everyone."""
        return None if self.schedule is None else self.schedule[round_index]

    # ----- what fails in a round (`dropout`), seeded by run seed and round -----
    def lost(self, round_index: int) -> np.ndarray:
        """[K] bool: FL clients whose update never reaches the server this round."""
        s = self.setting
        return topologies.lost_updates(s.clients, s.dropout, s.seed, round_index)

    def graph_at(self, round_index: int) -> np.ndarray:
        """The gossip graph this round: the adjacency with this round's failed edges removed."""
        s = self.setting
        return topologies.failed_edges(self.adjacency, s.dropout, s.seed, round_index)

    def mixing_at(self, round_index: int) -> np.ndarray:
        """This round's mixing matrix: `W`, or, when edges fail, the graph's mixing rule applied to
        the edges that remain (each client renormalises over the neighbours it still hears)."""
        s = self.setting
        if s.dropout <= 0 or self.topology.federated:
            return self.W
        return topologies.gossip_power(self.graph_at(round_index), self.sizes, s.gossip_steps, s.mixing)

    def summary(self) -> dict:
        """Numbers that describe the setting, for results and the explorer's readout."""
        return {"heterogeneity": self.heterogeneity, "client_sizes": self.sizes.tolist(),
                "spectral_gap": self.spectral_gap, "average_degree": self.average_degree}


def check_sizes(cfg: Config, n_images: int) -> None:
    """ConfigError naming `clients` or `min_client_size` when the split cannot exist."""
    if cfg.clients * cfg.min_client_size > n_images:
        if 2 * cfg.min_client_size > n_images:
            raise ConfigError("min_client_size", f"got {cfg.min_client_size}; allowed: 1 to "
                              f"{n_images // 2} for {cfg.dataset} ({n_images} training images)")
        raise ConfigError("clients", f"got {cfg.clients}; allowed: 2 to {n_images // cfg.min_client_size} "
                          f"for {cfg.dataset} ({n_images} training images, min_client_size "
                          f"{cfg.min_client_size})")


def sample_schedule(clients: int, participation: float, rounds: int, seed: int) -> Optional[tuple]:
    """FL with participation < 1: a seeded sample of round(participation * clients) clients per
    round, drawn round after round from one generator (so a longer run extends a shorter one)."""
    if participation >= 1:
        return None
    rng = np.random.default_rng([seed, 1])
    m = max(1, int(round(participation * clients)))
    return tuple(np.sort(rng.choice(clients, m, replace=False)) for _ in range(rounds))


@functools.lru_cache(maxsize=256)
def _federation(dataset, image_size, clients, alpha, seed, min_client_size, kind, topology, degree,
                gossip_steps, mixing, participation, rounds, dropout) -> Federation:
    from .data import load

    cfg = Config(dataset=dataset, image_size=image_size, clients=clients, alpha=alpha, seed=seed,
                 min_client_size=min_client_size, partition=kind, topology=topology, degree=degree,
                 gossip_steps=gossip_steps, mixing=mixing, participation=participation, rounds=rounds,
                 dropout=dropout)
    ds = load(dataset, image_size)
    labels = ds.train_y.cpu().numpy()
    if kind == "dirichlet" or alpha is None:
        check_sizes(cfg, len(labels))
    parts = tuple(partition(labels, clients, alpha, seed, min_client_size, kind))
    for p in parts:
        p.setflags(write=False)  # shared by every user of this federation
    sizes = np.array([len(p) for p in parts])
    adj, schedule = _network(topology, clients, degree, seed, participation, rounds)
    w = topologies.mixing_of(topology, adj, sizes, gossip_steps, mixing)
    return Federation(cfg, parts, sizes, label_histogram(labels, parts, ds.num_classes), adj, w, schedule)


def network(cfg: Config) -> tuple[np.ndarray, Optional[tuple]]:
    """(adjacency, participant schedule) of `cfg`: who talks to whom, without the split (which
    costs the dataset and a Dirichlet draw), so `traffic` counts any stored run in microseconds.
    The same arrays `Federation.from_config(cfg)` holds."""
    return _network(cfg.topology, cfg.clients, cfg.degree, cfg.seed, cfg.participation, cfg.rounds)


@functools.lru_cache(maxsize=1024)
def _network(topology, clients, degree, seed, participation, rounds) -> tuple:
    adj = topologies.adjacency(topology, clients, degree, np.random.default_rng(seed + 1))
    adj.setflags(write=False)  # shared by every federation of this graph
    return adj, sample_schedule(clients, participation, rounds, seed)


@functools.lru_cache(maxsize=256)
def _largest_min_size(dataset: str, image_size: int, clients: int, alpha, seed: int) -> int:
    from .data import load
    from .partition import largest_min_size

    return largest_min_size(load(dataset, image_size).train_y.cpu().numpy(), clients, alpha, seed)


def feasible(cfg: Config, seeds=None) -> Config:
    """`cfg` with the largest `min_client_size` (up to its own) at which the split of every seed
    in `seeds` (default: `cfg.seed`) exists, so that a control never dead-ends at small alpha and
    many clients. ConfigError naming `clients`, with the reason in words, when not even one image
    per client is possible.

    Example:
        >>> feasible(preset("tiny", alpha=0.0316, clients=26)).min_client_size   # lowered from 10
    """
    seeds = [cfg.seed] if seeds is None else list(seeds)

    def splits(size: int) -> bool:
        try:
            for s in seeds:
                Federation.from_config(cfg.replace(seed=s, min_client_size=size))
            return True
        except ConfigError:
            return False

    size = cfg.min_client_size
    if splits(size):  # the usual case, and a quick one
        return cfg
    size = min(size, *(_largest_min_size(cfg.dataset, cfg.image_size, cfg.clients, cfg.alpha, s) for s in seeds))
    if size < 1:
        alpha = "IID" if cfg.alpha is None else f"alpha {cfg.alpha:.3g}"
        raise ConfigError("clients", f"at {alpha}, {cfg.clients} clients cannot all get images: small alpha gives "
                                     f"each class to a few clients, so others get none. Use fewer clients or a "
                                     f"larger alpha")
    return cfg.replace(min_client_size=size)
