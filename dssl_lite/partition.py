"""Split a labelled dataset over clients: Dirichlet label skew (Hsu et al. 2019) or IID.

Two Dirichlet splits: `dirichlet` draws each class's shares over the clients and deals the class
out (client sizes vary; redrawn until every client has `min_size`), and `dirichlet-balanced` is
the paper's code's (prepare_dataset.py): the same per-class Dirichlet shares, then 100 rounds of
alternately normalising the clients x classes share matrix by its column and row sums, so every
client ends with (almost) the same number of images. All functions are pure: labels and an
explicit `numpy.random.Generator` in, index arrays out.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from .errors import ConfigError


def iid_partition(n: int, clients: int, rng: np.random.Generator) -> list[np.ndarray]:
    """A uniform random split into `clients` parts of (almost) equal size."""
    return [np.sort(p) for p in np.array_split(rng.permutation(n), clients)]


def _deal(by_class: list[np.ndarray], clients: int, alpha: float, rng: np.random.Generator):
    """One Dirichlet deal: for every class a shuffled order of its samples and where to cut it
    among the clients -> (orders, cuts, client sizes). Cheap: no per-client arrays yet."""
    orders, cuts, sizes = [], [], np.zeros(clients, dtype=np.int64)
    for idx in by_class:
        order = rng.permutation(idx)
        shares = rng.dirichlet(np.full(clients, alpha))
        cut = (np.cumsum(shares)[:-1] * len(idx)).astype(int)
        sizes += np.diff(np.concatenate([[0], cut, [len(idx)]]))
        orders.append(order)
        cuts.append(cut)
    return orders, cuts, sizes


def dirichlet_partition(labels: np.ndarray, clients: int, alpha: float, rng: np.random.Generator,
                        min_size: int = 10, max_tries: int = 1000) -> list[np.ndarray]:
    """For every class, draw client shares ~ Dir(alpha) and deal that class's samples out.

    Small alpha -> each client sees few classes. Every sample goes to exactly one client. The draw is
    repeated (same generator, so still seeded) until every client holds at least `min_size` samples.
    """
    labels = np.asarray(labels)
    if clients * min_size > len(labels):
        field = "min_client_size" if 2 * min_size > len(labels) else "clients"
        raise ConfigError(field, f"{clients} clients x min_client_size {min_size} > {len(labels)} samples")
    by_class = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    for _ in range(max_tries):
        orders, cuts, sizes = _deal(by_class, clients, alpha, rng)
        if sizes.min() >= min_size:
            parts = [[] for _ in range(clients)]
            for order, cut in zip(orders, cuts):
                for k, chunk in enumerate(np.split(order, cut)):
                    parts[k].append(chunk)
            return [np.sort(np.concatenate(p)) for p in parts]
    raise ConfigError("min_client_size", f"no Dirichlet(alpha={alpha}) draw in {max_tries} tries gave "
                      f"every one of {clients} clients >= {min_size} samples; lower it, raise alpha "
                      f"or use fewer clients")


def largest_min_size(labels: np.ndarray, clients: int, alpha: Optional[float], seed: int,
                     max_tries: int = 1000) -> int:
    """The largest `min_client_size` for which `partition(labels, clients, alpha, seed, ...)`
    succeeds (0: not even one sample for every client in `max_tries` draws). One pass over the
    same seeded draws `partition` makes, so a UI can adapt the minimum instead of dead-ending."""
    labels = np.asarray(labels)
    if alpha is None:
        return len(labels) // clients
    rng = np.random.default_rng(seed)
    by_class = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    return int(max(_deal(by_class, clients, alpha, rng)[2].min() for _ in range(max_tries)))


def balanced_dirichlet_partition(labels: np.ndarray, clients: int, alpha: float,
                                 rng: np.random.Generator, iterations: int = 100) -> list[np.ndarray]:
    """The paper's split: shares `[K, C]` ~ Dir(alpha) per class, normalised to sum 1, then
    `iterations` times divided by their column sums and their row sums, so rows (clients) carry
    equal weight and every class is spread over them by its skewed shares. Each class is then
    dealt by these shares, the largest remainders getting the images rounding leaves (the code
    floors and drops them), so every image goes to exactly one client."""
    labels = np.asarray(labels)
    classes = np.unique(labels)
    shares = rng.dirichlet(np.full(clients, alpha), size=len(classes)).T  # (K, C)
    shares /= shares.sum()
    for _ in range(iterations):
        shares /= shares.sum(axis=0, keepdims=True)
        shares /= shares.sum(axis=1, keepdims=True)
    parts = [[] for _ in range(clients)]
    for c, cls in enumerate(classes):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        want = shares[:, c] / shares[:, c].sum() * len(idx)
        counts = np.floor(want).astype(int)
        counts[np.argsort(-(want - counts), kind="stable")[: len(idx) - counts.sum()]] += 1
        for k, chunk in enumerate(np.split(idx, np.cumsum(counts)[:-1])):
            parts[k].append(chunk)
    return [np.sort(np.concatenate(p)) for p in parts]


def partition(labels: np.ndarray, clients: int, alpha: Optional[float], seed: int,
              min_size: int = 10, kind: str = "dirichlet") -> list[np.ndarray]:
    """IID when `alpha is None`, else Dirichlet(alpha) (`kind` dirichlet or dirichlet-balanced).
    Seeded by `seed` alone."""
    rng = np.random.default_rng(seed)
    if alpha is None:
        return iid_partition(len(labels), clients, rng)
    if kind == "dirichlet-balanced":
        parts = balanced_dirichlet_partition(labels, clients, alpha, rng)
        if min(len(p) for p in parts) < 1:
            raise ConfigError("clients", f"{clients} clients leave some with no images; use fewer clients")
        return parts
    return dirichlet_partition(labels, clients, alpha, rng, min_size)


def label_histogram(labels: np.ndarray, parts: list[np.ndarray], num_classes: int) -> np.ndarray:
    """Counts `[K, C]`: how many samples of each class every client holds."""
    labels = np.asarray(labels)
    return np.stack([np.bincount(labels[p], minlength=num_classes) for p in parts])


def heterogeneity(hist: np.ndarray) -> float:
    """One number per partition: mean total-variation distance between each client's label
    distribution and the global one, weighted by client size. 0 = IID; near 1 = disjoint classes."""
    hist = np.asarray(hist, dtype=float)
    sizes = hist.sum(1)
    local = hist / sizes[:, None]
    glob = hist.sum(0) / hist.sum()
    tv = 0.5 * np.abs(local - glob).sum(1)
    return float((tv * sizes).sum() / sizes.sum())
