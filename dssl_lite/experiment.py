"""Run an experiment: train the non-IID config, fetch (or train) its IID baseline, compare.

`robustness = accuracy(alpha) / accuracy(IID)` with everything else equal (same seed, model and
rounds). The IID baseline is cached per config in this process, so moving alpha does not
recompute it.
"""
from __future__ import annotations

import threading
import time
from typing import Callable, Optional

from .config import Config
from .evaluate import evaluate
from .results import Result
from .simulator import Diverged, Simulator, Stopped

OnRound = Callable[[str, dict], None]  # (phase: "iid" | "non_iid", record) -> None

_IID_CACHE: dict[str, tuple[dict, list]] = {}


def train(cfg: Config, stop: Optional[threading.Event] = None, on_round: Optional[OnRound] = None,
          phase: str = "non_iid", dataset=None) -> tuple[dict, list, Simulator]:
    """Train one config to the end; -> (metrics, history, simulator). Raises `Stopped`, or
    `Diverged` carrying the rounds finished before the loss became NaN."""
    sim = Simulator(cfg, dataset)
    history = []
    try:
        for rec in sim.rounds(stop):
            history.append(rec)
            if on_round:
                on_round(phase, rec)
    except Diverged as e:
        e.history, e.phase = history, phase
        raise
    if sim.round < cfg.rounds:
        raise Stopped(f"stopped at round {sim.round} of {cfg.rounds}")
    metrics = {**evaluate(sim), **sim.summary()}
    return metrics, history, sim


def clear_iid_cache() -> None:
    """Forget cached IID baselines (for cold timings and for tests that must retrain them)."""
    _IID_CACHE.clear()


def iid_baseline(cfg: Config, stop=None, on_round=None, dataset=None) -> tuple[dict, list]:
    """(metrics, history) of the same config with `alpha=None`, cached per config."""
    base = cfg.replace(alpha=None)
    key = base.to_json()
    if key not in _IID_CACHE:
        metrics, history, _ = train(base, stop, on_round, phase="iid", dataset=dataset)
        _IID_CACHE[key] = (metrics, history)
    return _IID_CACHE[key]


def run(cfg: Config, stop: Optional[threading.Event] = None, on_round: Optional[OnRound] = None,
        dataset=None, keep_simulator: bool = False):
    """Non-IID run + IID baseline -> `Result` (and the trained `Simulator` if `keep_simulator`).

    Example:
        >>> res = run(preset("live"))
        >>> print(res.accuracy, res.iid_accuracy, res.robustness)
    """
    t0 = time.perf_counter()
    metrics, history, sim = train(cfg, stop, on_round, dataset=dataset)
    if cfg.iid:
        iid_metrics, iid_history = metrics, history
    else:
        iid_metrics, iid_history = iid_baseline(cfg, stop, on_round, dataset)
    metrics["iid_accuracy"] = iid_metrics["accuracy"]
    metrics["robustness"] = metrics["accuracy"] / max(iid_metrics["accuracy"], 1e-12)
    metrics["drop"] = iid_metrics["accuracy"] - metrics["accuracy"]
    res = Result(cfg.as_dict(), metrics, history, [] if cfg.iid else iid_history,
                 time.perf_counter() - t0)
    return (res, sim) if keep_simulator else res
