"""The multi-client simulator: every client of every stacked run, stepped together.

Client state lives stacked `[N, ...]`, N = runs x clients, in one `ClientState` (parameters, the
objective's state, AdamW moments): runs that share a model and a schedule (seeds, alphas, their
IID references, graphs) sit side by side on one axis. A round is explicit: `begin_round()` returns
a `Round` handle, `local_step` steps every training client chunk by chunk through the executor
(`workers.py`, `engine.py`), and `end_round` writes the work back and lets the topology aggregate,
run by run. Every client draws its randomness from its own generator and aggregation goes run by
run, so a run's numbers do not depend on what it is stacked with or who computes its chunks.
Optimizer semantics (`optimizer_state: keep`): a client keeps its AdamW moments while it takes
part every round (in FL its parameters become the global model's, its moments stay); a sampled
client starts a fresh AdamW each time it is picked (its old moments would be rounds stale).
docs/design.md has the contracts.
"""
from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from typing import Callable, Iterator, Optional, Sequence, Union

import numpy as np
import torch

from . import data as data_mod
from . import workers
from .config import Config, ConfigError, stack_key
from .engine import Engine
from .errors import Diverged, Stopped  # noqa: F401  (raised here; callers import them from errors)
from .federation import Federation
from .objectives import create_objective
from .optim import Moments, lr_at
from .plan import chunks, resolve, resolve_device
from .state import ClientState
from .topologies import Mix, consensus_distance

Params = dict[str, torch.Tensor]
log = logging.getLogger(__name__)
WORKER_RETRIES = 2  # a round whose worker dies is run again this many times before the run fails
_GLOBAL_RNG = threading.Lock()  # runs built in parallel threads must not interleave their seeded inits


class Round:
    """One round in progress: which clients train (`active`, None = everyone), their working
    `ClientState`, the chunks their step is cut into and the losses so far. Made by
    `Simulator.begin_round`; `step()` and `finish()` ask the simulator, which owns every state
    change. Nothing here outlives `finish()`."""

    def __init__(self, sim: "Simulator", active: Optional[torch.Tensor], work: ClientState, jobs: list, rows: list,
                 start: Optional[Params] = None):
        self.sim, self.active, self.work, self.jobs, self.rows = sim, active, work, jobs, rows
        self.start = start  # FL with dropout: each run's global model at the round's start `[R, ...]`
        self.losses: list[torch.Tensor] = []

    def step(self) -> torch.Tensor:
        """One local step on every training client; returns their losses `[A]`."""
        return self.sim.local_step(self)

    def finish(self) -> None:
        """End the round: aggregate (`Simulator.end_round`)."""
        self.sim.end_round(self)


@contextlib.contextmanager
def one_intra_op_thread():
    """Engine steps in this thread compute with one intra-op thread, as the workers do: a
    matmul's summation order depends on its thread count, the numbers must not."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class Simulator:
    """Set up data, federations, model and client state for one config or a stack of configs
    that share a model and schedule; `rounds()` trains them all together.

    Example:
        >>> sim = Simulator(preset("tiny"))
        >>> for recs in sim.rounds(): print(recs[0]["round"], recs[0]["loss"])
        >>> both = Simulator([preset("tiny", seed=0), preset("tiny", seed=1)])  # 2 runs, one vmap
    """

    def __init__(self, cfg: Union[Config, Sequence[Config]], executor: Optional[workers.Executor] = None):
        self.runs: list[Config] = [cfg] if isinstance(cfg, Config) else list(cfg)
        if not self.runs or len({stack_key(c) for c in self.runs}) > 1:
            raise ConfigError("stack", "stacked runs must share everything but alpha, seed, "
                              "min_client_size and the graph (and one aggregator)")
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
            self.index[i, : len(p)] = torch.tensor(p)  # the federation's arrays are read-only
        self.sizes = torch.tensor(sizes, dtype=torch.float32)
        self.W = torch.tensor(np.stack([f.W for f in self.federations]), dtype=torch.float32, device=self.device)

        self.model, params, state = None, {}, {}
        for c in self.runs:  # every run starts from its own seed's initial model
            with _GLOBAL_RNG, torch.random.fork_rng(devices=[]):  # timm draws from the global RNG
                torch.manual_seed(c.seed)
                model = create_objective(c, ds.channels).to(self.device)
            if list(model.buffers()):
                raise RuntimeError("model has buffers; the stacked simulator needs buffer-free modules")
            self.model = self.model or model
            init = {n: p.detach() for n, p in model.named_parameters()}
            for store, one in ((params, init), (state, model.init_state(init))):
                for n, t in one.items():
                    store.setdefault(n, []).append(t.to(self.device).unsqueeze(0).expand(K, *t.shape))
        stacked = lambda d: {n: torch.cat(ts).contiguous() for n, ts in d.items()}
        self.sampled = cfg.participation < 1  # sampled clients: a fresh AdamW each time they are picked
        params = stacked(params)
        self.clients = ClientState(params, stacked(state), Moments.zeros(params))
        self.plan = resolve(cfg)
        self.engine = Engine(self.runs, self.data, self.index, self.sizes, self.device)
        self.grads = self.engine.grads
        self.round = 0
        self.step = 0  # local steps taken, for the learning-rate schedule and the randomness
        self.stopped = False  # set when `rounds` returned early because `stop` was set
        # the round's objective state when everyone trains (round_start's output is copied in)
        self.work_state = {n: torch.empty_like(t) for n, t in self.clients.state.items()}
        self.executor = executor or workers.for_job(self.device, self.N * cfg.rounds * cfg.local_steps)
        c = self.clients
        self.executor.attach(self.engine, {"params": c.params, "exp_avg": c.moments.exp_avg,
                                           "exp_avg_sq": c.moments.exp_avg_sq, "state": self.work_state,
                                           "losses": torch.zeros(self.N), "index": self.index, "sizes": self.sizes},
                             [r.as_dict() for r in self.runs])

    @property
    def pool(self) -> Optional[workers.Pool]:
        """The worker processes computing this simulator's chunks (None: this thread)."""
        return getattr(self.executor, "pool", None)

    @property
    def params(self) -> Params:
        """Every client's parameters `[N, ...]` (the live tensors)."""
        return self.clients.params

    @property
    def state(self) -> Params:
        return self.clients.state

    # ----- a round: who trains, local steps, aggregation -----
    def participants(self) -> Optional[torch.Tensor]:
        """This round's participants of every run (its federation's schedule); None = everyone."""
        if not self.sampled:
            return None
        K = self.cfg.clients
        return torch.tensor(np.concatenate([r * K + f.participants(self.round)
                                            for r, f in enumerate(self.federations)]))

    def begin_round(self, everyone: bool = False) -> Round:
        """Start a round: its participants (or `everyone`) and their working state. Everyone
        trains in place (the objective's round state in `work_state`); sampled clients train a
        copy of their rows with a fresh AdamW."""
        active = None if everyone else self.participants()
        c = self.clients
        if active is None:
            if self.sampled or self.cfg.optimizer_state == "fresh":  # a new AdamW this round
                c.moments.zero_()
            if c.state:
                for n, t in self.model.round_start(c.state, c.params).items():
                    self.work_state[n].copy_(t)
            work = ClientState(c.params, self.work_state if c.state else {}, c.moments)
        else:
            work = c.rows(active)
            work.moments = Moments.zeros(work.params)
            if work.state:
                work.state = {n: t.clone() for n, t in self.model.round_start(work.state, work.params).items()}
        per_run = self.cfg.clients if active is None else len(active) // len(self.runs)
        jobs = [(r * per_run + lo, r * per_run + hi) for r in range(len(self.runs))
                for lo, hi in chunks(per_run, self.plan.chunk)]
        start = None
        if self.federated and self.cfg.dropout > 0:  # every client holds the global model now
            start = {n: t[::self.cfg.clients].clone() for n, t in c.params.items()}
        return Round(self, active, work, jobs, list(range(self.N)) if active is None else active.tolist(), start)

    def local_step(self, rnd: Round) -> torch.Tensor:
        """One local step of round `rnd`'s training clients, computed by the executor chunk by
        chunk; -> their losses `[A]`."""
        work = rnd.work
        tensors = {"params": work.params, "exp_avg": work.moments.exp_avg,
                   "exp_avg_sq": work.moments.exp_avg_sq, "state": work.state}
        losses = self.executor.step(tensors, rnd.jobs, rnd.rows, self.step, work.moments.count, lr_at(self.cfg, self.step))
        work.moments.count += 1
        self.step += 1
        rnd.losses.append(losses)
        return losses

    @torch.no_grad()
    def end_round(self, rnd: Round) -> None:
        """End round `rnd`: the objective finishes its state, the work is written back, and the
        topology averages parameters and the objective's mixed state run by run (FL: each run's
        participants, weighted by data size, to every client; DecL: theta <- W @ theta)."""
        work, model = rnd.work, self.model
        state = model.round_end(work.state) if work.state else work.state
        self.clients.put(rnd.active, ClientState(work.params, state, None))
        mixed = [n for n in self.clients.state if n.startswith(model.mixed_state)] if model.mixed_state else []
        mix = Mix(len(self.runs), self.cfg.clients, self.sizes.to(self.device), self._taking(rnd), self._mixing())
        state = [self.clients.state[n] for n in mixed]
        if model.mix_uniformly and state:  # the objective's state: every participant alike
            self.topology.aggregate(state, mix._replace(sizes=torch.ones_like(mix.sizes)))
            state = []
        self.topology.aggregate(list(self.clients.params.values()) + state, mix)
        if rnd.start is not None:  # a run whose every update was lost: its server keeps its model
            K = self.cfg.clients
            for r in torch.nonzero(~mix.taking.view(-1, K).any(1)).flatten().tolist():
                for n, t in self.clients.params.items():
                    t[r * K:(r + 1) * K] = rnd.start[n][r]

    def _taking(self, rnd: Round) -> Optional[torch.Tensor]:
        """[N] bool: whose update the round's aggregation reads (None: everyone's). In FL, this
        round's participants less those whose update was lost (`dropout`)."""
        lost = self.federated and self.cfg.dropout > 0
        if rnd.active is None and not lost:
            return None
        taking = torch.zeros(self.N, dtype=torch.bool)
        taking[rnd.active if rnd.active is not None else slice(None)] = True
        if lost:
            taking &= torch.from_numpy(np.concatenate([f.lost(self.round) for f in self.federations])).logical_not()
        return taking.to(self.device)

    def _mixing(self) -> torch.Tensor:
        """[R, K, K] each run's mixing this round (with this round's failed edges, when they fail)."""
        if self.federated or self.cfg.dropout <= 0:
            return self.W
        return torch.tensor(np.stack([f.mixing_at(self.round) for f in self.federations]), dtype=torch.float32,
                            device=self.device)

    def sample_batch(self, active: Optional[torch.Tensor] = None) -> dict[str, torch.Tensor]:
        """Per-client batches `[A, B, ...]` of the clients `active` (default everyone) at the
        current step: what the next local step will draw."""
        rows = range(self.N) if active is None else active.tolist()
        return self.engine.batch(rows, self.step)

    @torch.no_grad()
    def consensus_distance(self) -> list[float]:
        """Per run: how far its clients are from agreeing (`topologies.consensus_distance`)."""
        return consensus_distance(self.params, len(self.runs), self.cfg.clients)

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
            rnd = self._local_phase(halted)
            if rnd is None:
                self.stopped = True  # the round's partial local work is dropped, never averaged
                return
            rnd.finish()
            self.round += 1
            act = torch.arange(self.N) if rnd.active is None else rnd.active
            per_client = torch.full((self.N,), math.nan)
            per_client[act] = torch.stack(rnd.losses).mean(0).cpu()
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

    def _local_phase(self, halted: Callable[[], bool]) -> Optional[Round]:
        """The round's local steps -> the `Round`, ready to aggregate (None once stopped). A worker
        process that dies costs the round, not the run: every worker is ended, the clients are put
        back as the round found them (a copy taken at its start) and the round runs again on a
        new pool, with the same numbers (each step's randomness is a function of the step)."""
        backup = self.snapshot() if isinstance(self.executor, workers.Processes) else None
        for attempt in range(WORKER_RETRIES + 1):
            rnd = self.begin_round()
            try:
                for _ in range(self.cfg.local_steps):
                    if halted():
                        return None
                    rnd.step()
                return None if halted() else rnd
            except workers.WorkerError as e:
                if backup is None or attempt == WORKER_RETRIES:
                    raise workers.WorkerError(f"round {self.round + 1}: {str(e).splitlines()[0]}; "
                                              f"gave up after {attempt + 1} tries") from None
                log.warning("round %d: %s; restarting the workers and the round", self.round + 1, e)
                self.executor.recover()  # ends every worker (none may write on), then a new pool
                self.restore(backup)
        return None

    # ----- snapshots: try something, then put everything back -----
    def snapshot(self) -> dict:
        """Everything a round changes (the randomness is a function of the step counter)."""
        return {"clients": self.clients.clone(), "round": self.round, "step": self.step}

    def restore(self, snap: dict) -> None:
        self.clients.copy_(snap["clients"])
        self.round, self.step = snap["round"], snap["step"]

    @contextlib.contextmanager
    def scratch(self):
        """`with sim.scratch(): ...` trains or changes anything; afterwards the simulator is exactly
        as before (parameters, optimizer moments, objective state, counters)."""
        snap = self.snapshot()
        try:
            yield self
        finally:
            self.restore(snap)

    def local_update(self, steps: Optional[int] = None) -> Params:
        """Every client's model `[N, ...]` after `steps` (default `local_steps`) local steps from
        the current state, everyone training, not aggregated; the simulator is put back
        afterwards (`scratch`), so training can go on as if this never ran."""
        with self.scratch():
            rnd = self.begin_round(everyone=True)
            for _ in range(steps or self.cfg.local_steps):
                rnd.step()
            return {n: p.clone() for n, p in rnd.work.params.items()}

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
        """FL: the server model (every client holds it after FedAvg). DecL: the averaged model,
        the data-size-weighted average of the local models, which no client holds (the paper's
        code forms it at the end of DecL and fine-tunes it)."""
        if self.federated:
            return self.client_params(0, run)
        K = self.cfg.clients
        w = self.sizes[run * K: (run + 1) * K]
        w = (w / w.sum()).to(self.device)
        return {n: torch.einsum("k,k...->...", w.to(t.dtype), t).detach().clone()
                for n, t in self.run_params(run).items()}

    # single-run conveniences (the first stacked run)
    histogram = property(lambda self: self.federations[0].histogram)
    parts = property(lambda self: self.federations[0].parts)
    adjacency = property(lambda self: self.federations[0].adjacency)

    def summary(self, run: int = 0) -> dict:
        """Numbers that describe run `run`'s setting, before any training."""
        return self.federations[run].summary()
