"""Run experiments: train non-IID configs beside their IID baselines, compare.

`robustness = accuracy(alpha) / accuracy(IID)` with everything else equal (same seed, model and
rounds). A config's IID baseline is the same config with `alpha=None`; it is trained in the same
vmapped steps as the non-IID run on a GPU (one stacked call, not two runs), beside it in another
thread on CPU, and cached per config in this process, so moving alpha does not recompute it.
"""
from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Optional, Sequence

import torch

from .config import Config, stack_key
from .evaluate import evaluate
from .results import Result
from .simulator import Diverged, Simulator, Stopped, resolve_device

OnRound = Callable[[str, dict], None]  # (phase: "iid" | "non_iid", record) -> None; record has "seed"

_IID_CACHE: dict[str, tuple[dict, list]] = {}


def train_stack(cfgs: Sequence[Config], stop: Optional[threading.Event] = None,
                on_round: Optional[OnRound] = None, phases: Optional[Sequence[str]] = None
                ) -> tuple[list[dict], list[list], Simulator]:
    """Train stackable configs together to the end -> (metrics per run, history per run,
    simulator). Raises `Stopped`, or `Diverged` carrying the rounds finished before the NaN."""
    phases = list(phases or ["non_iid"] * len(cfgs))
    sim = Simulator(list(cfgs))
    histories: list[list] = [[] for _ in cfgs]
    try:
        for recs in sim.rounds(stop):
            for cfg, phase, hist, rec in zip(cfgs, phases, histories, recs):
                hist.append(rec)
                if on_round:
                    on_round(phase, {**rec, "seed": cfg.seed})
    except Diverged as e:
        e.history, e.phase = histories[0], phases[0]
        raise
    if sim.stopped or sim.round < sim.cfg.rounds:
        raise Stopped(f"stopped after round {sim.round} of {sim.cfg.rounds}")
    metrics = [{**m, **sim.summary(r)} for r, m in enumerate(evaluate(sim))]
    return metrics, histories, sim


def train(cfg: Config, stop: Optional[threading.Event] = None, on_round: Optional[OnRound] = None,
          phase: str = "non_iid") -> tuple[dict, list, Simulator]:
    """Train one config to the end; -> (metrics, history, simulator)."""
    metrics, histories, sim = train_stack([cfg], stop, on_round, [phase])
    return metrics[0], histories[0], sim


def clear_iid_cache() -> None:
    """Forget cached IID baselines (for cold timings and for tests that must retrain them)."""
    _IID_CACHE.clear()


def iid_key(cfg: Config) -> str:
    """The identity of `cfg`'s IID baseline (`Config.key` of the same config with alpha=None)."""
    return cfg.replace(alpha=None).key()


def is_cached(cfg: Config) -> bool:
    """Whether `cfg`'s IID baseline is already trained in this process."""
    return iid_key(cfg) in _IID_CACHE


def stacking_pays(cfg: Config) -> bool:
    """Stack runs on one client axis only on a GPU. On CPU a 10-client step is already
    compute-bound (measured: 2 or 6 stacked runs cost 1.0-1.2x the sum of their single steps), and
    training runs one at a time keeps every run's numbers independent of what else ran (a vmapped
    reduction over more clients rounds differently in the last bits)."""
    return resolve_device(cfg.device).type == "cuda"


def run_many(cfgs: Sequence[Config], stop: Optional[threading.Event] = None,
             on_round: Optional[OnRound] = None, keep_simulator: bool = False,
             stack: Optional[bool] = None):
    """Non-IID runs + their IID baselines -> one `Result` per config (and the simulator that
    trained the first config, if `keep_simulator`). With `stack` (default: on a GPU) configs that
    can share a vmapped step are trained together with every baseline not yet cached.

    Example:
        >>> results = run_many([preset("live", seed=s) for s in range(3)])  # 3 seeds + 3 baselines, one stack
    """
    t0 = time.perf_counter()
    jobs: list[tuple[Config, str]] = [(c, "iid" if c.iid else "non_iid") for c in cfgs]
    wanted = {c.key() for c in cfgs}
    for c in cfgs:
        key = iid_key(c)
        if not c.iid and key not in _IID_CACHE and key not in wanted:
            jobs.append((c.replace(alpha=None), "iid"))
            wanted.add(key)
    stack = stacking_pays(cfgs[0]) if stack is None else stack
    groups: dict[str, list[tuple[Config, str]]] = {}
    for i, job in enumerate(jobs):
        groups.setdefault(stack_key(job[0]) if stack else str(i), []).append(job)
    trained = train_groups(list(groups.values()), stop, on_round)
    done: dict[str, tuple[dict, list]] = {}
    for group, (metrics, histories, _) in zip(groups.values(), trained):
        for (c, phase), m, h in zip(group, metrics, histories):
            done[c.key()] = (m, h)
            if c.iid:
                _IID_CACHE[c.key()] = (m, h)
    first_sim = trained[0][2]
    seconds = time.perf_counter() - t0
    results = []
    for c in cfgs:
        metrics, history = done[c.key()]
        iid_metrics, iid_history = done.get(iid_key(c)) or _IID_CACHE[iid_key(c)]
        metrics = {**metrics, "iid_accuracy": iid_metrics["accuracy"],
                   "robustness": metrics["accuracy"] / max(iid_metrics["accuracy"], 1e-12),
                   "drop": iid_metrics["accuracy"] - metrics["accuracy"]}
        results.append(Result(c.as_dict(), metrics, history, [] if c.iid else iid_history, seconds))
    return (results, first_sim) if keep_simulator else results


def train_groups(groups, stop=None, on_round=None) -> list:
    """Train groups of stackable jobs -> [(metrics, histories, simulator)] in order. On CPU every
    group trains with one intra-op thread, in parallel over the machine's cores: one thread per run
    measured faster than sharing both cores between ops on these small models, and a run's
    numbers never depend on how many cores the machine has or what else trained beside it."""
    def job(g, halt):
        return train_stack([c for c, _ in g], halt, on_round, [p for _, p in g])

    if resolve_device(groups[0][0][0].device).type != "cpu":
        return [job(g, stop) for g in groups]
    if len(groups) == 1:  # nothing to run beside it: this thread, still one intra-op thread
        return [_one_intra_op_thread(lambda: job(groups[0], stop))]
    failed = threading.Event()  # a failed group stops the others
    halt = AnyEvent(failed, stop)

    def one_thread(g):
        torch.set_num_threads(1)  # per worker thread (OpenMP's setting is per thread)
        try:
            return job(g, halt)
        except BaseException:
            failed.set()
            raise

    with ThreadPoolExecutor(max(1, min(len(groups), os.cpu_count() or 1))) as pool:
        futures = [pool.submit(one_thread, g) for g in groups]
        errors = [e for e in (f.exception() for f in futures) if e is not None]
    if errors:  # the first real failure, else the stop
        raise next((e for e in errors if not isinstance(e, Stopped)), errors[0])
    return [f.result() for f in futures]


def _one_intra_op_thread(fn):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return fn()
    finally:
        torch.set_num_threads(before)


class AnyEvent:
    """Set when any of its events is set: what `Simulator.rounds` checks between local steps."""

    def __init__(self, *events: Optional[threading.Event]):
        self.events = [e for e in events if e is not None]

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)


def run(cfg: Config, stop: Optional[threading.Event] = None, on_round: Optional[OnRound] = None,
        keep_simulator: bool = False):
    """Non-IID run + IID baseline -> `Result` (and the trained `Simulator` if `keep_simulator`;
    its run 0 is `cfg`).

    Example:
        >>> res = run(preset("live"))
        >>> print(res.accuracy, res.iid_accuracy, res.robustness)
    """
    out = run_many([cfg], stop, on_round, keep_simulator)
    return (out[0][0], out[1]) if keep_simulator else out[0]


def run_seeds(cfg: Config, seeds: Sequence[int], stop=None, on_round=None,
              keep_simulator: bool = False, stack: Optional[bool] = None):
    """The same setting at several seeds -> list of `Result` (one per seed)."""
    return run_many([cfg.replace(seed=int(s)) for s in seeds], stop, on_round, keep_simulator, stack)
