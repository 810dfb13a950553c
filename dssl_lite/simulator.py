"""The multi-client simulator: every client of every stacked run, stepped together.

Client parameters live stacked `[N, ...]`, N = runs x clients: one or more runs that share a model
and a schedule (seeds, alphas, their IID baselines, graphs) sit side by side on one axis. One local
step for all of them is one call of `vmap(grad_and_value(functional_call(objective)))` over
per-client batches `[N, B, ...]` gathered from a device-resident dataset. Aggregation is a tensor op
per run: FL averages the round's participants (weighted by data size) and hands the result to every
client; DecL applies the run's gossip matrix, `theta <- W @ theta`. `vectorized=False` runs the same
functions in a plain loop over clients: the oracle the tests compare against and `bench` times.

The simulator owns all per-client state: parameters, optimizer moments, the objective's state (for
example BYOL's EMA target) and every run's random generators. `snapshot()` / `restore()` (or
`scratch()`) let evaluation and feature pictures try things and put everything back.

Optimizer semantics: every client keeps its AdamW moments from round to round while it takes part
every round (FL with full participation, and DecL); in FL its parameters are replaced by the
global model at each aggregation, its moments stay. Measured, this learns much faster than a fresh
AdamW every round (digits, IID, 200 local steps: kNN .69 against .60). With `participation < 1` a
sampled client starts a fresh AdamW each time it is picked: its old moments would be many rounds
stale.
A run's numbers do not depend on what it is stacked with (the tests check it).
"""
from __future__ import annotations

import contextlib
import copy
import math
import threading
import time
from typing import Iterator, Optional, Sequence, Union

import numpy as np
import torch
from torch.func import functional_call, grad_and_value, vmap

from . import data as data_mod
from .config import Config, ConfigError, stack_key
from .federation import Federation
from .objectives import create_objective
from .topologies import Mix

Params = dict[str, torch.Tensor]
AUTO_CHUNK_IMAGES = 1024  # images per vmap call when `client_chunk` is 0 (see `chunk_size`)
_GLOBAL_RNG = threading.Lock()  # runs built in parallel threads must not interleave their seeded inits


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
    """Set up data, partitions, graphs, model and optimizer for one config or a stack of configs
    that share a model and schedule; `rounds()` trains them all together.

    Example:
        >>> sim = Simulator(preset("tiny"))
        >>> for recs in sim.rounds(): print(recs[0]["round"], recs[0]["loss"])
        >>> both = Simulator([preset("tiny", seed=0), preset("tiny", seed=1)])  # 2 runs, one vmap
    """

    def __init__(self, cfg: Union[Config, Sequence[Config]]):
        self.runs: list[Config] = [cfg] if isinstance(cfg, Config) else list(cfg)
        if not self.runs or len({stack_key(c) for c in self.runs}) > 1:
            raise ConfigError("stack", "stacked runs must share everything but alpha, seed, "
                              "min_client_size and the graph (and be all FL or all DecL)")
        self.cfg = cfg = self.runs[0]
        self.federations = [Federation.from_config(c) for c in self.runs]  # what the explorer previews
        self.topology = self.federations[0].topology  # stacked runs share one aggregator
        self.federated = self.topology.federated
        self.device = resolve_device(cfg.device)
        ds = data_mod.load(cfg.dataset, cfg.image_size)
        self.data = ds.to(self.device)
        R, K = len(self.runs), cfg.clients
        self.N = R * K
        # padded per-client index table (N, max_n): row r*K + k holds client k of run r's sample ids
        sizes = np.concatenate([f.sizes for f in self.federations])
        self.index = torch.zeros(self.N, int(sizes.max()), dtype=torch.long)
        for i, p in enumerate(p for f in self.federations for p in f.parts):
            self.index[i, : len(p)] = torch.from_numpy(p)
        self.sizes = torch.tensor(sizes, dtype=torch.float32)
        self.W = torch.tensor(np.stack([f.W for f in self.federations]), dtype=torch.float32, device=self.device)

        self.model, self.params, self.state = None, {}, {}
        for c in self.runs:  # every run starts from its own seed's initial model
            with _GLOBAL_RNG, torch.random.fork_rng(devices=[]):  # timm draws from the global RNG
                torch.manual_seed(c.seed)
                model = create_objective(c, ds.channels).to(self.device)
            if list(model.buffers()):
                raise RuntimeError("model has buffers; the stacked simulator needs buffer-free modules")
            self.model = self.model or model
            init = {n: p.detach() for n, p in model.named_parameters()}
            for store, one in ((self.params, init), (self.state, model.init_state(init))):
                for n, t in one.items():
                    store.setdefault(n, []).append(t.to(self.device).unsqueeze(0).expand(K, *t.shape))
        self.params = {n: torch.cat(ts).contiguous() for n, ts in self.params.items()}
        self.state = {n: torch.cat(ts).contiguous() for n, ts in self.state.items()}
        self.gens = [torch.Generator().manual_seed(c.seed) for c in self.runs]  # batches, masks, views
        self.round = 0
        self.step = 0  # local steps taken, for the learning-rate schedule
        self.sampled = cfg.participation < 1  # sampled clients: fresh optimizer when picked
        self.opt = None if self.sampled else self._optimizer(self.params)
        self.active: Optional[torch.Tensor] = None  # this round's clients (None = everyone)
        self._work: Params = self.params
        self._work_state: Params = {}
        self._in_round = False
        self.stopped = False  # set when `rounds` returned early because `stop` was set
        self._grad = grad_and_value(self._client_loss, has_aux=True)

    # ----- one client, pure: the function both paths call -----
    def _client_loss(self, params, batch, state):
        return functional_call(self.model, params, (batch, state))

    def chunk_size(self, clients: int) -> Optional[int]:
        """Clients per vmap call: `client_chunk`, or by default as many as hold AUTO_CHUNK_IMAGES
        images in one call, which bounds the activations' memory however many clients there are
        (1,000 clients of the live model stay within 4 GiB). A rule of the config alone, so a
        run's numbers never depend on the machine's memory."""
        chunk = self.cfg.client_chunk or max(1, AUTO_CHUNK_IMAGES // self.cfg.batch_size)
        return None if chunk >= clients else chunk

    def _all_grads(self, params, batch, state):
        """(grads [A, ...], losses [A], aux [A, ...]) for the training clients: vmap, or the loop."""
        cfg = self.cfg
        with torch.autocast(self.device.type, torch.bfloat16, enabled=cfg.precision == "bfloat16"):
            if cfg.vectorized:
                return self._vmapped(params, batch, state)
            outs = []
            for k in range(next(iter(params.values())).shape[0]):
                pick = lambda d: {n: t[k] for n, t in d.items()}
                outs.append(self._grad(pick(params), pick(batch), pick(state)))
        stack = lambda key, f: {n: torch.stack([f(o)[n] for o in outs]) for n in key}
        grads = stack(params, lambda o: o[0])
        aux = stack(outs[0][1][1], lambda o: o[1][1])
        return grads, torch.stack([o[1][0] for o in outs]), aux

    def _vmapped(self, params, batch, state):
        """vmap over the clients, chunk by chunk, each chunk's results written straight into
        full-size buffers (vmap's own `chunk_size` would hold every chunk's output and their
        concatenation at once: a second copy of all gradients at 1,000 clients)."""
        f = vmap(self._grad)
        n = next(iter(params.values())).shape[0]
        chunk = self.chunk_size(n)
        if chunk is None:
            grads, (losses, aux) = f(params, batch, state)
            return grads, losses, aux
        out = None
        for i in range(0, n, chunk):
            part = lambda d: {k: t[i: i + chunk] for k, t in d.items()}
            g, (loss, a) = f(part(params), part(batch), part(state))
            if out is None:
                out = [{k: t.new_empty((n, *t.shape[1:])) for k, t in d.items()} for d in (g, {"loss": loss}, a)]
            for buf, d in zip(out, (g, {"loss": loss}, a)):
                for k, t in d.items():
                    buf[k][i: i + chunk] = t
            del g, loss, a
        return out[0], out[1]["loss"], out[2]

    # ----- optimizer and schedule -----
    def _optimizer(self, params: Params) -> torch.optim.AdamW:
        """AdamW on stacked tensors: elementwise, so every client keeps its own moments. Decay on
        matrices and kernels only (the usual timm/MAE grouping); fused kernels where available."""
        c = self.cfg
        groups = [{"params": [p for p in params.values() if p.dim() - 1 >= 2], "weight_decay": c.weight_decay},
                  {"params": [p for p in params.values() if p.dim() - 1 < 2], "weight_decay": 0.0}]
        return torch.optim.AdamW([g for g in groups if g["params"]], lr=c.lr, betas=(0.9, 0.95), eps=1e-8,
                                 fused=True)

    def lr_at(self, step: int) -> float:
        """Linear warm-up over `warmup_steps`, then constant or cosine decay to 0 at the last step."""
        c = self.cfg
        total = c.rounds * c.local_steps
        if step < c.warmup_steps:
            return c.lr * (step + 1) / c.warmup_steps
        if c.lr_schedule == "cosine":
            progress = (step - c.warmup_steps) / max(1, total - c.warmup_steps)
            return 0.5 * c.lr * (1 + math.cos(math.pi * min(progress, 1.0)))
        return c.lr

    # ----- a round: who trains, local steps, aggregation -----
    def _pick_clients(self) -> Optional[torch.Tensor]:
        """This round's participants of every run (its federation's schedule); None = everyone."""
        if not self.sampled:
            return None
        K = self.cfg.clients
        return torch.tensor(np.concatenate([r * K + f.participants(self.round)
                                            for r, f in enumerate(self.federations)]))

    def begin_round(self) -> None:
        """Choose this round's clients and let the objective update their state; sampled clients
        get a fresh optimizer on a working copy of the model they received."""
        self.active, self._in_round = self._pick_clients(), True
        take = (lambda d: d) if self.active is None else (lambda d: {n: t[self.active].clone() for n, t in d.items()})
        self._work = take(self.params)
        if self.sampled:
            self.opt = self._optimizer(self._work)
        state = take(self.state)
        self._work_state = self.model.round_start(state, self._work) if state else state

    def sample_batch(self) -> dict[str, torch.Tensor]:
        """Per-client batches `[A, B, ...]` for the training clients, drawn with replacement from
        each client's data; every run draws from its own generator (outside vmap)."""
        K, B = self.cfg.clients, self.cfg.batch_size
        act = torch.arange(self.N) if self.active is None else self.active
        parts = []
        for r, gen in enumerate(self.gens):
            mine = act[(act >= r * K) & (act < (r + 1) * K)]
            pos = (torch.rand(len(mine), B, generator=gen) * self.sizes[mine][:, None]).long()
            idx = self.index[mine].gather(1, pos).reshape(-1).to(self.device)
            batch = self.model.prepare(self.data.train_x[idx], gen)  # randomness outside vmap
            parts.append({n: t.reshape(len(mine), B, *t.shape[1:]) for n, t in batch.items()})
        return {n: torch.cat([p[n] for p in parts]) for n in parts[0]}

    def local_step(self) -> torch.Tensor:
        """One optimizer step on every training client; returns their losses `[A]`."""
        if not self._in_round:
            self.begin_round()
        grads, losses, aux = self._all_grads(self._work, self.sample_batch(), self._work_state)
        for group in self.opt.param_groups:
            group["lr"] = self.lr_at(self.step)
        for n, p in self._work.items():
            p.grad = grads[n].to(p.dtype)
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        if self._work_state:
            with torch.no_grad():
                self._work_state = self.model.after_step(self._work_state, self._work, aux)
        self.step += 1
        return losses.detach().float()

    @torch.no_grad()
    def aggregate(self) -> None:
        """End the round: the objective finishes its state, then parameters and mixed state are
        averaged. FL: each run's participants, weighted by data size, to every client of the run.
        DecL: theta <- W @ theta per run (one or `gossip_steps` gossip steps)."""
        state = self.model.round_end(self._work_state) if self._work_state else self._work_state
        if self.active is not None:  # write the participants' work back
            for store, work in ((self.params, self._work), (self.state, state)):
                for n, t in work.items():
                    store[n][self.active] = t
        elif state:
            self.state.update(state)
        mixed = [n for n in self.state if n.startswith(self.model.mixed_state)] if self.model.mixed_state else []
        taking = None
        if self.active is not None:
            taking = torch.zeros(self.N, dtype=torch.bool)
            taking[self.active] = True
            taking = taking.to(self.device)
        mix = Mix(len(self.runs), self.cfg.clients, self.sizes.to(self.device), taking, self.W)
        self.topology.aggregate(list(self.params.values()) + [self.state[n] for n in mixed], mix)
        self._end_work()

    @torch.no_grad()
    def consensus_distance(self) -> list[float]:
        """Per run: mean over clients of ||theta_k - theta_bar||^2 / ||theta_bar||^2 (0 after FedAvg)."""
        R, K = len(self.runs), self.cfg.clients
        num = torch.zeros(R, dtype=torch.float64)
        den = torch.zeros(R, dtype=torch.float64)
        for p in self.params.values():
            v = p.view(R, K, -1).double()
            mean = v.mean(1, keepdim=True)
            num += ((v - mean) ** 2).sum((1, 2)).cpu() / K
            den += (mean ** 2).sum((1, 2)).cpu()
        return (num / den.clamp_min(1e-12)).tolist()

    def rounds(self, stop: Optional[threading.Event] = None) -> Iterator[list[dict]]:
        """Train round by round; after each aggregation yield one record per run:
        `{"round", "loss", "client_loss", "consensus_distance", "seconds"}` (`client_loss` holds
        None for clients not sampled this round).

        The stop contract: `stop` is checked before every local step and once more before a
        round is aggregated. Once it is set, this loop finishes at most the local step it is in,
        drops the round in progress (never aggregated, never yielded), sets `self.stopped` and
        returns. So no round whose last local step ended after the event is ever reported."""
        t0 = time.perf_counter()
        R, K = len(self.runs), self.cfg.clients
        halted = lambda: stop is not None and stop.is_set()
        while self.round < self.cfg.rounds:
            if not self._in_round:
                self.begin_round()
            losses = []
            for _ in range(self.cfg.local_steps):
                if halted():
                    break
                losses.append(self.local_step())
            if len(losses) < self.cfg.local_steps or halted():
                self._end_work()  # the round's partial local work is not averaged
                self.stopped = True
                return
            act = torch.arange(self.N) if self.active is None else self.active
            self.aggregate()
            self.round += 1
            per_client = torch.full((self.N,), math.nan)
            per_client[act] = torch.stack(losses).mean(0).cpu()
            if not torch.isfinite(per_client[act]).all():
                raise Diverged(f"lr: loss became {per_client[act].mean().item()} at round {self.round}; "
                               f"lower lr (now {self.cfg.lr})")
            # FL hands every client the same model: its consensus distance is 0 by construction
            dist = [0.0] * R if self.federated else self.consensus_distance()
            secs = time.perf_counter() - t0
            recs = []
            for r in range(R):
                mine = per_client[r * K: (r + 1) * K]
                recs.append({"round": self.round, "loss": float(mine.nanmean()),
                             "client_loss": [None if math.isnan(v) else round(float(v), 6) for v in mine],
                             "consensus_distance": dist[r], "seconds": secs})
            yield recs

    def _end_work(self) -> None:
        self._work, self._work_state, self.active, self._in_round = self.params, {}, None, False

    # ----- snapshots: try something, then put everything back -----
    def snapshot(self) -> dict:
        clone = lambda d: {n: t.clone() for n, t in d.items()}
        return {"params": clone(self.params), "state": clone(self.state),
                "opt": None if self.sampled else copy.deepcopy(self.opt.state_dict()),
                "gens": [g.get_state() for g in self.gens], "round": self.round, "step": self.step}

    @torch.no_grad()
    def restore(self, snap: dict) -> None:
        for store, saved in ((self.params, snap["params"]), (self.state, snap["state"])):
            for n, t in saved.items():
                store[n].copy_(t)
        if snap["opt"] is not None:
            self.opt.load_state_dict(snap["opt"])
        for g, s in zip(self.gens, snap["gens"]):
            g.set_state(s)
        self.round, self.step = snap["round"], snap["step"]
        self._end_work()

    @contextlib.contextmanager
    def scratch(self):
        """`with sim.scratch(): ...` trains or changes anything; afterwards the simulator is exactly
        as before (parameters, optimizer moments, objective state, generators, counters)."""
        snap = self.snapshot()
        try:
            yield self
        finally:
            self.restore(snap)

    def local_update(self, steps: Optional[int] = None) -> Params:
        """Every client's model `[N, ...]` after `steps` (default `local_steps`) local steps from
        the current state, everyone training, not aggregated. Use inside `scratch()`."""
        self.active, self._work, self._in_round = None, self.params, True
        if self.sampled:
            self.opt = self._optimizer(self.params)
        self._work_state = self.model.round_start(self.state, self.params) if self.state else {}
        for _ in range(steps or self.cfg.local_steps):
            self.local_step()
        return {n: p.clone() for n, p in self._work.items()}

    # ----- what evaluation and feature spaces read -----
    def encoder_params(self, params: Optional[Params] = None) -> Params:
        params = self.params if params is None else params
        return {n[len("encoder."):]: t for n, t in params.items() if n.startswith("encoder.")}

    def client_params(self, k: int, run: int = 0) -> Params:
        """A copy of client k (of stacked run `run`)'s full parameters (no client axis)."""
        return {n: t[run * self.cfg.clients + k].detach().clone() for n, t in self.params.items()}

    def run_params(self, run: int = 0) -> Params:
        """Run `run`'s clients `[K, ...]` (a view, not a copy)."""
        K = self.cfg.clients
        return {n: t[run * K: (run + 1) * K] for n, t in self.params.items()}

    def global_params(self, run: int = 0) -> Params:
        """FL: the server model (every client holds it after FedAvg). DecL: the consensus
        (uniform average) model, which no client actually holds."""
        if self.federated:
            return self.client_params(0, run)
        return {n: t.mean(0).detach().clone() for n, t in self.run_params(run).items()}

    # single-run conveniences (the first stacked run)
    @property
    def histogram(self) -> np.ndarray:
        return self.federations[0].histogram

    @property
    def parts(self) -> tuple:
        return self.federations[0].parts

    @property
    def adjacency(self) -> np.ndarray:
        return self.federations[0].adjacency

    def summary(self, run: int = 0) -> dict:
        """Numbers that describe run `run`'s setting, before any training."""
        return self.federations[run].summary()
