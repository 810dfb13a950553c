"""Run experiments: train non-IID configs beside their IID baselines, compare.

`robustness = accuracy(alpha) / accuracy(IID)` with everything else equal (same seed, model and
rounds). A config's IID baseline is the same config with `alpha=None`; it is trained in the same
vmapped steps as the non-IID run on a GPU (one stacked call, not two runs), beside it in another
thread on CPU. Every run trained in this process is remembered by its `Config.key()` in `MEMORY`
(the one cache), so moving alpha does not retrain the baseline and `runs.get_or_run` never
trains a run twice.
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

MEMORY: dict[str, tuple[dict, list, float]] = {}  # Config.key() -> (metrics, history, seconds)


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


def forget() -> None:
    """Forget every run trained in this process (for cold timings and tests that must retrain)."""
    MEMORY.clear()


def iid_key(cfg: Config) -> str:
    """The identity of `cfg`'s IID baseline (`Config.key` of the same config with alpha=None)."""
    return cfg.replace(alpha=None).key()


def is_cached(cfg: Config) -> bool:
    """Whether `cfg`'s IID baseline is already trained in this process."""
    return iid_key(cfg) in MEMORY


def stacking_pays(cfg: Config) -> bool:
    """Stack runs on one client axis only on a GPU. On CPU a 10-client step is already
    compute-bound (measured: 2 or 6 stacked runs cost 1.0-1.2x the sum of their single steps), and
    training runs one at a time keeps every run's numbers independent of what else ran (a vmapped
    reduction over more clients rounds differently in the last bits)."""
    return resolve_device(cfg.device).type == "cuda"


def run_many(cfgs: Sequence[Config], stop: Optional[threading.Event] = None,
             on_round: Optional[OnRound] = None, keep_simulator: bool = False,
             stack: Optional[bool] = None, reuse: bool = False):
    """Non-IID runs + their IID baselines -> one `Result` per config (and the simulator that
    trained the first config, if `keep_simulator`). Baselines already in `MEMORY` are reused; with
    `reuse`, so are the configs themselves (then nothing trained twice is trained again). With
    `stack` (default: on a GPU) configs that can share a vmapped step train together.

    Example:
        >>> results = run_many([preset("live", seed=s) for s in range(3)])  # 3 seeds + 3 baselines
    """
    t0 = time.perf_counter()
    jobs: list[tuple[Config, str]] = []
    wanted = set()
    for c in cfgs:
        if c.key() not in wanted and not (reuse and c.key() in MEMORY and not keep_simulator):
            jobs.append((c, "iid" if c.iid else "non_iid"))
            wanted.add(c.key())
    for c in cfgs:
        key = iid_key(c)
        if not c.iid and key not in MEMORY and key not in wanted:
            jobs.append((c.replace(alpha=None), "iid"))
            wanted.add(key)
    stack = stacking_pays(cfgs[0]) if stack is None else stack
    groups: dict[str, list[tuple[Config, str]]] = {}
    for i, job in enumerate(jobs):
        groups.setdefault(stack_key(job[0]) if stack else str(i), []).append(job)
    trained = train_groups(list(groups.values()), stop, on_round) if groups else []
    seconds = time.perf_counter() - t0
    for group, (metrics, histories, _) in zip(groups.values(), trained):
        for (c, phase), m, h in zip(group, metrics, histories):
            MEMORY[c.key()] = (m, h, seconds)
    results = [recall(c) for c in cfgs]
    first_sim = trained[0][2] if trained else None
    return (results, first_sim) if keep_simulator else results


def recall(cfg: Config) -> Optional[Result]:
    """`cfg`'s `Result` from runs already trained in this process (None if it or its baseline was not)."""
    if cfg.key() not in MEMORY or iid_key(cfg) not in MEMORY:
        return None
    metrics, history, seconds = MEMORY[cfg.key()]
    iid_metrics, iid_history, _ = MEMORY[iid_key(cfg)]
    metrics = {**metrics, "iid_accuracy": iid_metrics["accuracy"],
               "robustness": metrics["accuracy"] / max(iid_metrics["accuracy"], 1e-12),
               "drop": iid_metrics["accuracy"] - metrics["accuracy"]}
    return Result(cfg.as_dict(), metrics, history, [] if cfg.iid else iid_history, seconds)


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
