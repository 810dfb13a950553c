"""Run experiments: train non-IID configs beside their IID baselines, compare.

`robustness = accuracy(alpha) / accuracy(IID)` with everything else equal (same seed, model and
rounds). Every run has two IID references, both trained and both recorded: `fl-iid`, the FL run
of the same seed on IID data (one scale for every graph, the default `reference`; the paper's code
computes no ratio, it reports fine-tuning accuracies),
and `same-graph`, the same config with `alpha=None` (for FL the two are one run). Runs that share a model
and schedule (seeds, alphas, their baselines, graphs) train stacked in one simulator, whose
chunks spread over the worker processes (a run's numbers do not depend on what it is stacked
with). The runs trained in this process are remembered by their `Config.key()` in `MEMORY` (the
one cache; the last `MEMORY_MAX` used), so moving alpha does not retrain the baseline and
`runs.get_or_run` does not train a run it trained recently again.
"""
from __future__ import annotations

import math
import threading
import time
from typing import Callable, Optional, Sequence

from .config import Config, stack_key
from .errors import Diverged, Stopped
from .evaluate import evaluate, floor
from .results import Result
from .simulator import Simulator, one_intra_op_thread
from .stats import collapse_warning
from .traffic import communication

OnRound = Callable[[str, dict], None]  # (phase: "iid" | "non_iid", record) -> None; record has "seed"

MEMORY: dict[str, tuple[dict, list, float]] = {}  # Config.key() -> (metrics, history, seconds)
MEMORY_MAX = 500  # runs kept besides those in use (about 45 KB each at the live preset)
_MEMORY_LOCK = threading.Lock()


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
    with one_intra_op_thread():  # a probe's matmuls must not round by the machine's core count
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


def same_graph(cfg: Config) -> Config:
    """The `same-graph` reference: this config on IID data."""
    return cfg.replace(alpha=None)


def fl_iid(cfg: Config) -> Config:
    """The `fl-iid` reference: the FL run of the same seed, data and model on IID data."""
    return cfg.replace(alpha=None, topology="fl")


def baselines(cfg: Config) -> list[Config]:
    """The runs `cfg`'s ratios need: its two references (one for FL)."""
    out = {c.train_key(): c for c in (same_graph(cfg), fl_iid(cfg))}
    return list(out.values())


def iid_key(cfg: Config) -> str:
    """Runs with equal `iid_key` share their references (and so train well together)."""
    return "/".join(sorted(c.train_key() for c in baselines(cfg)))


def is_cached(cfg: Config) -> bool:
    """Whether every reference of `cfg` is already trained in this process."""
    return all(c.train_key() in MEMORY for c in baselines(cfg))


def remember(cfg: Config, metrics: dict, history: Optional[list] = None, seconds: float = 0.0) -> None:
    """Hold `cfg`'s numbers as if it had been trained in this process (`atlas.lend_baselines`
    gives the IID references an atlas built on this CPU measured, to the last digit)."""
    MEMORY[cfg.train_key()] = (metrics, history or [], seconds)


def uncached_baselines(cfg: Config) -> int:
    return sum(c.train_key() not in MEMORY for c in baselines(cfg) if c.train_key() != cfg.train_key())


def run_many(cfgs: Sequence[Config], stop: Optional[threading.Event] = None,
             on_round: Optional[OnRound] = None, keep_simulator: bool = False,
             stack: bool = True, reuse: bool = False):
    """Non-IID runs + their IID references -> one `Result` per config (and the simulator that
    trained the first config, if `keep_simulator`). References already in `MEMORY` are reused; with
    `reuse`, so are the configs themselves (then nothing trained twice is trained again). Configs
    that can share a simulator train stacked (`stack=False`: each alone; the numbers are the same).

    Example:
        >>> results = run_many([preset("live", seed=s) for s in range(3)])  # 3 seeds + 3 baselines
    """
    t0 = time.perf_counter()
    _make_room({k for c in cfgs for k in (c.train_key(), *(b.train_key() for b in baselines(c)))})
    jobs: list[tuple[Config, str]] = []
    wanted = set()
    for c in cfgs:
        if c.train_key() not in wanted and not (reuse and c.train_key() in MEMORY and not keep_simulator):
            jobs.append((c, "iid" if c.iid else "non_iid"))
            wanted.add(c.train_key())
    for c in cfgs:
        for b in baselines(c):
            if b.train_key() not in MEMORY and b.train_key() not in wanted:
                jobs.append((b, "iid"))
                wanted.add(b.train_key())
    groups: dict[str, list[tuple[Config, str]]] = {}
    for i, job in enumerate(jobs):
        groups.setdefault(stack_key(job[0]) if stack else str(i), []).append(job)
    trained = train_groups(list(groups.values()), stop, on_round) if groups else []
    seconds = time.perf_counter() - t0
    for group, (metrics, histories, _) in zip(groups.values(), trained):
        for (c, phase), m, h in zip(group, metrics, histories):
            MEMORY[c.train_key()] = (m, h, seconds)
    results = [recall(c) for c in cfgs]
    first_sim = trained[0][2] if trained else None
    return (results, first_sim) if keep_simulator else results


def _make_room(needed: set) -> None:
    """Keep `MEMORY` to `MEMORY_MAX` runs besides `needed` (the runs a call reads): an explorer
    left open trains without end, and each run's history stays. The runs a call reads count as
    used last; the longest unused go first, to be trained again (the same numbers) if asked for."""
    with _MEMORY_LOCK:
        for k in needed & MEMORY.keys():
            MEMORY[k] = MEMORY.pop(k)
        unused = [k for k in MEMORY if k not in needed]
        for k in unused[: max(0, len(MEMORY) - MEMORY_MAX)]:
            del MEMORY[k]


def _headline(metrics: dict, cfg: Config) -> float:
    """A run's accuracy under `cfg`'s `decl_eval` (FL has one)."""
    key = {"average": "accuracy_average", "local-mean": "accuracy_local_mean"}[cfg.decl_eval]
    return metrics.get(key, metrics["accuracy"])


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan  # NaN stays NaN; a reference at 0 gives no ratio


def recall(cfg: Config) -> Optional[Result]:
    """`cfg`'s `Result` from runs already trained in this process (None if it or a reference was
    not). Both ratios are recorded; `robustness` and `iid_accuracy` follow `reference`; beside
    them the untrained encoder's accuracy (`floor`) and, when a ratio rests on (almost) nothing
    learned, a `warning` in words."""
    refs = {"same-graph": same_graph(cfg), "fl-iid": fl_iid(cfg)}
    if any(c.train_key() not in MEMORY for c in (cfg, *refs.values())):
        return None
    metrics, history, seconds = MEMORY[cfg.train_key()]
    acc = _headline(metrics, cfg)
    iid = {name: _headline(MEMORY[c.train_key()][0], cfg) for name, c in refs.items()}
    ratio = {name: acc / max(v, 1e-12) for name, v in iid.items()}
    every = {name: MEMORY[c.train_key()][0].get("global_knn_all", math.nan) for name, c in refs.items()}
    mine = metrics.get("global_knn_all", math.nan)
    metrics = {**metrics, "accuracy": acc, "iid_accuracy": iid[cfg.reference],
               "robustness": ratio[cfg.reference], "drop": iid[cfg.reference] - acc,
               "fl_iid_accuracy": iid["fl-iid"], "same_graph_iid_accuracy": iid["same-graph"],
               "robustness_fl_iid": ratio["fl-iid"], "robustness_same_graph": ratio["same-graph"],
               # the same ratios judged on every image (`evaluate.knn_all`): the global or averaged model
               "accuracy_all": mine, "iid_accuracy_all": every[cfg.reference],
               "robustness_all": _ratio(mine, every["fl-iid"]), "robustness_all_same_graph": _ratio(mine, every["same-graph"])}
    metrics["floor"] = floor(cfg)  # the untrained encoder's accuracy: beside every ratio
    metrics["communication"] = communication(cfg)  # the bytes its rounds moved
    metrics["warning"] = collapse_warning(acc, metrics["iid_accuracy"], metrics["floor"])
    iid_history = MEMORY[refs[cfg.reference].train_key()][1]
    return Result(cfg.as_dict(), metrics, history, [] if cfg.iid else iid_history, seconds)


def train_groups(groups, stop=None, on_round=None) -> list:
    """Train groups of stackable jobs, one simulator each, one after another (each spreads its
    chunks over the worker processes) -> [(metrics, histories, simulator)] in order."""
    return [train_stack([c for c, _ in g], stop, on_round, [p for _, p in g]) for g in groups]


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
              keep_simulator: bool = False, stack: bool = True):
    """The same setting at several seeds -> list of `Result` (one per seed)."""
    return run_many([cfg.replace(seed=int(s)) for s in seeds], stop, on_round, keep_simulator, stack)
