"""What a Run produces: an `Attempt` (how one press of Run went) and a `Point` (one setting at
several seeds: one mean and spread on the robustness chart)."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from dssl_lite.config import Config
from dssl_lite.stats import paired_difference, spread


@dataclass
class Attempt:
    """One press of Run (or restart): how it ended and how far it got, finished or not.
    `rounds` counts the rounds of the slowest run of each phase (seeds train side by side)."""

    config: Config
    seeds: list = field(default_factory=list)
    status: str = "running"               # running | finished | stopped | error
    rounds: dict = field(default_factory=lambda: {"non_iid": 0, "iid": 0})
    stop_requested_at: Optional[dict] = None  # rounds done when its stop event was set
    error: Optional[str] = None
    error_field: str = ""                 # the config field an error is about, if any
    total: int = 0                        # rounds to train in all (every seed, uncached baselines)
    done: int = 0
    started: float = field(default_factory=time.monotonic)
    _seen: dict = field(default_factory=dict)

    def progress(self) -> dict:
        """{"done", "total", "fraction", "seconds", "eta"}: the estimate assumes steady rounds."""
        spent = time.monotonic() - self.started
        frac = self.done / self.total if self.total else 0.0
        eta = spent * (1 - frac) / frac if frac > 0 else None
        return {"done": self.done, "total": self.total, "fraction": frac, "seconds": spent, "eta": eta}


@dataclass
class Point:
    """One setting trained at several seeds: one point (mean and spread) on the robustness chart.
    Reads like a `Result` (config, robustness, accuracy, metrics, seconds) with means over seeds."""

    config: dict                 # the setting; its seed is the first of `seeds`
    runs: list                   # one `Result` per seed, in seed order
    seconds: float

    @property
    def seeds(self) -> list:
        return [r.seed for r in self.runs]

    def _values(self, key: str) -> np.ndarray:
        return np.array([r.metrics[key] for r in self.runs], dtype=float)

    def mean(self, key: str) -> float:
        return float(self._values(key).mean())

    def sd(self, key: str) -> float:
        """The spread over seeds (1 sd, `stats.spread`)."""
        return spread(self._values(key))

    robustness = property(lambda self: self.mean("robustness"))
    robustness_sd = property(lambda self: self.sd("robustness"))
    accuracy = property(lambda self: self.mean("accuracy"))
    iid_accuracy = property(lambda self: self.mean("iid_accuracy"))

    @property
    def metrics(self) -> dict:
        return {k: self.mean(k) for k, v in self.runs[0].metrics.items() if isinstance(v, (int, float))}

    def compare(self, other: "Point") -> str:
        """This point against `other` in words: the paired interval over their shared seeds."""
        shared = [s for s in self.seeds if s in other.seeds]
        if not shared:
            return "no shared seeds to compare with the previous run"
        mine = {r.seed: r.robustness for r in self.runs}
        theirs = {r.seed: r.robustness for r in other.runs}
        d = paired_difference([mine[s] for s in shared], [theirs[s] for s in shared])
        return describe_difference(d, "this", "previous")


def describe_difference(d: dict, a: str, b: str, metric: str = "robustness") -> str:
    """One sentence on a paired difference: the mean, its interval, and whether the interval
    excludes 0, worded the same in both directions. One seed is never presented as a finding."""
    head = f"{a} - {b} {metric}: {d['mean']:+.3f}"
    if d["n"] < 2 or not math.isfinite(d.get("ci_low", math.nan)):
        return f"{head} (one seed: no interval, so this is not a finding; run more seeds)"
    ci = f"{d['ci_low']:+.3f} to {d['ci_high']:+.3f}"
    if d["ci_low"] > 0:
        said = f"{a} ahead beyond the seed noise"
    elif d["ci_high"] < 0:
        said = f"{b} ahead beyond the seed noise"
    else:
        said = "the interval includes 0: within the noise"
    return f"{head} (95 % paired interval {ci}, {d['n']} seeds): {said}"


def describe(cfg: dict) -> str:
    """A short label for a run, e.g. 'mim · fl · alpha=0.1 · K=8'."""
    alpha = "IID" if cfg["alpha"] is None else f"alpha={cfg['alpha']:.3g}"
    graph = cfg["topology"] if cfg["topology"] in ("fl", "complete", "ring", "none") \
        else f"{cfg['topology']}(d={cfg['degree']})"
    return f"{cfg['objective']} · {graph} · {alpha} · K={cfg['clients']}"
