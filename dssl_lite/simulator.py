"""The multi-client simulator: every client's parameters stacked `[K, ...]`, stepped together.

One local step for all K clients is one call of `vmap(grad_and_value(functional_call(model)))`
over per-client batches `[K, B, ...]` gathered from a device-resident dataset. Aggregation is a
tensor op: `theta <- W @ theta` over the client axis (FL: every row of W is the data-size
weighting; DecL: a Metropolis gossip matrix). `vectorized=False` runs the same functions in a
plain loop over clients: the oracle the tests compare against and `bench` times.

The simulator yields one record per round and never prints; pass a `threading.Event` to stop it
between local steps.
"""
from __future__ import annotations

import threading
import time
from typing import Iterator, Optional

import numpy as np
import torch
from torch.func import functional_call, grad_and_value, vmap

from . import data as data_mod
from .config import Config, ConfigError
from .objectives import create_objective
from .optim import StackedAdamW
from .partition import heterogeneity, label_histogram, partition
from .topology import average_degree, mixing_matrix, spectral_gap


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", "cuda requested but torch sees no GPU; allowed here: auto, cpu")
    return torch.device(name)


class Stopped(Exception):
    """Raised by `experiment.run` when the stop event was set; nothing finished is lost."""


class Diverged(FloatingPointError):
    """The loss became NaN/inf. Names the field to change (`lr`); `experiment.train` fills in
    `history` (the rounds finished before it) and `phase` ("non_iid" or "iid")."""

    field = "lr"

    def __init__(self, message: str):
        super().__init__(message)
        self.history: list = []
        self.phase: Optional[str] = None


class Simulator:
    """Set up data, partition, graph, model and optimizer for one config; `rounds()` trains.

    Example:
        >>> sim = Simulator(preset("tiny"))
        >>> for rec in sim.rounds(): print(rec["round"], rec["loss"])
    """

    def __init__(self, cfg: Config, dataset: Optional[data_mod.Dataset] = None):
        self.cfg = cfg
        self.device = resolve_device(cfg.device)
        ds = dataset if dataset is not None else data_mod.load(cfg.dataset, cfg.image_size)
        self.data = ds.to(self.device)
        labels = ds.train_y.cpu().numpy()
        if cfg.clients * cfg.min_client_size > len(labels):
            raise ConfigError("clients", f"got {cfg.clients}; allowed: 2 to {len(labels) // cfg.min_client_size} "
                              f"for {cfg.dataset} ({len(labels)} training images, min_client_size "
                              f"{cfg.min_client_size})")
        try:
            self.parts = partition(labels, cfg.clients, cfg.alpha, cfg.seed, cfg.min_client_size)
        except ValueError as e:  # partition's errors read "field: message"
            field, _, message = str(e).partition(": ")
            raise ConfigError(field, message) from None
        self.sizes = np.array([len(p) for p in self.parts])
        self.histogram = label_histogram(labels, self.parts, ds.num_classes)
        self.adjacency, w = mixing_matrix(cfg.topology, cfg.clients, cfg.degree, self.sizes,
                                          cfg.seed, cfg.gossip_steps)
        self.W = torch.tensor(w, dtype=torch.float32, device=self.device)
        # padded per-client index table (K, max_n): row k holds client k's sample ids
        self.index = torch.zeros(cfg.clients, int(self.sizes.max()), dtype=torch.long)
        for k, p in enumerate(self.parts):
            self.index[k, : len(p)] = torch.from_numpy(p)
        self._sizes_t = torch.tensor(self.sizes, dtype=torch.float32)

        with torch.random.fork_rng(devices=[]):  # same init for every client, seeded
            torch.manual_seed(cfg.seed)
            self.model = create_objective(cfg, ds.channels).to(self.device)
        if list(self.model.buffers()):
            raise RuntimeError("model has buffers; the stacked simulator needs buffer-free modules")
        self.params = {n: p.detach().unsqueeze(0).repeat(cfg.clients, *([1] * p.dim())).contiguous()
                       for n, p in self.model.named_parameters()}
        self.opt = StackedAdamW(self.params, cfg.lr, cfg.weight_decay)
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.round = 0
        self._grad = grad_and_value(self._client_loss)
        self._uses_ref = getattr(self.model, "needs_reference", False)
        self.reference = None  # MAR: the encoder each client received at round start

    # ----- one client, pure: the function both paths call -----
    def _client_loss(self, params, batch, ref):
        return functional_call(self.model, params, (batch,), {"ref": ref})

    def _all_grads(self, params, batch, ref):
        """(grads [K, ...], losses [K]) for all clients: vmap, or the per-client loop oracle."""
        if self.cfg.vectorized:
            f = vmap(self._grad, in_dims=(0, 0, 0 if ref is not None else None),
                     chunk_size=self.cfg.client_chunk or None)
            return f(params, batch, ref)
        outs = []
        for k in range(self.cfg.clients):
            pick = lambda d: None if d is None else {n: t[k] for n, t in d.items()}
            outs.append(self._grad(pick(params), pick(batch), pick(ref)))
        grads = {n: torch.stack([g[n] for g, _ in outs]) for n in params}
        return grads, torch.stack([l for _, l in outs])

    def sample_batch(self) -> dict[str, torch.Tensor]:
        """Per-client batches `[K, B, ...]`, sampled with replacement from each client's data."""
        k, b = self.cfg.clients, self.cfg.batch_size
        pos = (torch.rand(k, b, generator=self.gen) * self._sizes_t[:, None]).long()
        idx = self.index.gather(1, pos).reshape(-1).to(self.device)
        batch = self.model.prepare(self.data.train_x[idx], self.gen)  # randomness outside vmap
        return {n: t.reshape(k, b, *t.shape[1:]) for n, t in batch.items()}

    def encoder_params(self, params=None) -> dict[str, torch.Tensor]:
        params = self.params if params is None else params
        return {n[len("encoder."):]: t for n, t in params.items() if n.startswith("encoder.")}

    def begin_round(self) -> None:
        """Freeze what every client holds now as MAR's alignment reference (no-op otherwise)."""
        if self._uses_ref:
            self.reference = {n: t.clone() for n, t in self.encoder_params().items()}

    def local_step(self) -> torch.Tensor:
        """One optimizer step on every client; returns per-client losses `[K]`."""
        ref = self.reference if self._uses_ref else None
        grads, losses = self._all_grads(self.params, self.sample_batch(), ref)
        self.opt.step(self.params, grads)
        return losses.detach()

    @torch.no_grad()
    def aggregate(self) -> None:
        """theta <- W @ theta on the client axis (FedAvg or one gossip round)."""
        if self.cfg.topology == "none":
            return
        for p in self.params.values():
            p.copy_(torch.einsum("ij,j...->i...", self.W, p))

    @torch.no_grad()
    def consensus_distance(self) -> float:
        """Mean over clients of ||theta_k - theta_bar||^2 / ||theta_bar||^2 (0 after FedAvg)."""
        num = den = 0.0
        for p in self.params.values():
            mean = p.mean(0, keepdim=True)
            num += ((p - mean) ** 2).sum().item() / p.shape[0]
            den += (mean ** 2).sum().item()
        return num / max(den, 1e-12)

    def rounds(self, stop: Optional[threading.Event] = None) -> Iterator[dict]:
        """Train round by round; yield `{"round", "loss", "client_loss", "consensus_distance",
        "seconds"}` after each aggregation. Returns early (no yield) if `stop` is set."""
        t0 = time.perf_counter()
        while self.round < self.cfg.rounds:
            self.begin_round()
            losses = []
            for _ in range(self.cfg.local_steps):
                if stop is not None and stop.is_set():
                    return
                losses.append(self.local_step())
            self.aggregate()
            self.round += 1
            client_loss = torch.stack(losses).mean(0).cpu()
            if not torch.isfinite(client_loss).all():
                raise Diverged(f"lr: loss became {client_loss.mean().item()} at round "
                                         f"{self.round}; lower lr (now {self.cfg.lr})")
            yield {"round": self.round, "loss": float(client_loss.mean()),
                   "client_loss": [round(float(v), 6) for v in client_loss],
                   "consensus_distance": self.consensus_distance(),
                   "seconds": time.perf_counter() - t0}

    # ----- what evaluation and feature spaces read -----
    def client_params(self, k: int) -> dict[str, torch.Tensor]:
        """A copy of client k's full parameters (one model, no client axis)."""
        return {n: t[k].detach().clone() for n, t in self.params.items()}

    def global_params(self) -> dict[str, torch.Tensor]:
        """FL: the server model (client 0 after FedAvg; all equal). DecL: the consensus
        (uniform average) model, which no client actually holds."""
        if self.cfg.topology == "fl":
            return self.client_params(0)
        return {n: t.mean(0).detach().clone() for n, t in self.params.items()}

    def summary(self) -> dict:
        """Numbers that describe the setting, before any training."""
        return {"heterogeneity": heterogeneity(self.histogram),
                "client_sizes": self.sizes.tolist(),
                "spectral_gap": spectral_gap(self.W.cpu().numpy()),
                "average_degree": average_degree(self.adjacency)}
