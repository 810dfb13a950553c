"""The explorer's logic, with no widgets: a draft config, cheap views, and one training worker.

The GUI (`explorer.py`) only links controls to this class and listens to its events, so every
behaviour here is testable without a browser. Training runs in one long-lived worker thread;
a new request while a run is going sets the old run's stop event (the engine checks it between
local steps, so it ends within one round) and the worker starts the new config once the old
run has returned. Nothing here prints or displays: listeners get `(event, payload)` calls, from
the worker thread too, and must only change widget properties.
"""
from __future__ import annotations

import functools
import logging
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

from dssl_lite import experiment
from dssl_lite.config import Config, ConfigError, from_dict, preset
from dssl_lite.data import load
from dssl_lite.federation import Federation
from dssl_lite.partition import largest_min_size
from dssl_lite.simulator import Stopped
from dssl_lite.stats import describe_difference, paired_difference

from .worker import Worker

Listener = Callable[[str, Any], None]
log = logging.getLogger(__name__)


@dataclass
class Setting:
    """What the cheap views draw for one config: its `Federation` (the very object the simulator
    trains on) and the atlas's measured curves through it. No model, no training (milliseconds)."""

    config: Config
    federation: Federation
    atlas: dict = field(default_factory=dict)  # x axis -> measured curve through this setting

    parts = property(lambda self: self.federation.parts)
    histogram = property(lambda self: self.federation.histogram)
    adjacency = property(lambda self: self.federation.adjacency)
    sizes = property(lambda self: self.federation.sizes)
    heterogeneity = property(lambda self: self.federation.heterogeneity)
    spectral_gap = property(lambda self: self.federation.spectral_gap)
    average_degree = property(lambda self: self.federation.average_degree)


@functools.lru_cache(maxsize=256)
def _largest_min(dataset: str, image_size: int, clients: int, alpha, seed: int) -> int:
    return largest_min_size(load(dataset, image_size).train_y.cpu().numpy(), clients, alpha, seed)


def setting(cfg: Config) -> Setting:
    """Partition and graph of `cfg`: the simulator's own cached `Federation`."""
    return Setting(cfg, Federation.from_config(cfg))


def atlas_curves(cfg: Config, preset_name: str) -> dict:
    """The shipped atlas's curves through `cfg` along alpha and along degree (empty frames when
    the preset has no atlas or the setting was not measured)."""
    from dssl_lite import atlas

    table = atlas.shipped(preset_name)
    return {x: atlas.curve(table, cfg, x) for x in ("alpha", "degree")}


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
        v = self._values(key)
        return float(v.std(ddof=1)) if len(v) > 1 else 0.0

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


class ExplorerModel:
    """Draft config + cheap views + one worker thread + finished results.

    Events sent to listeners: "setting" (Setting), "error" ((field, message) or None),
    "start" (Config), "round" ((phase, record, live snapshot)), "progress" (Attempt), "finished" (Point),
    "stopped" (Attempt), "failed" (Attempt), "idle" (None), "pinned" (dict), "reset" (None),
    "listener_error" (str: a listener raised; the others are told so they can show it).
    Every Run trains `seeds` seeds of the draft (side by side) and adds one `Point`; `close()`
    ends the worker.

    Example:
        >>> m = ExplorerModel(preset("tiny"))
        >>> m.set(alpha=0.5)        # cheap views only
        >>> m.run(); m.wait(30)
        >>> m.results[-1].robustness
    """

    def __init__(self, cfg: Config, preset_name: str = "default", modified: bool = False):
        self.preset_name = preset_name      # the preset Reset goes back to
        self.modified = modified            # the draft differs from that preset
        self.values: dict = cfg.as_dict()   # the draft, possibly invalid
        self.config: Config = cfg           # the last valid draft
        self.error: Optional[tuple[str, str]] = None
        self.setting: Setting = setting(cfg)
        self.setting.atlas = atlas_curves(cfg, preset_name)
        self.results: list = []             # finished `Result`s, oldest first
        self.attempts: list[Attempt] = []
        self.live: dict[str, dict] = {"non_iid": {}, "iid": {}}  # phase -> seed -> round records
        self.pinned: Optional[dict] = None  # {"label", "loss"} of a pinned run (ghost curve)
        self.auto_run = False               # True: every valid change starts a run
        self.simulators: dict = {}          # label -> trained Simulator, last two finished runs
        self.seeds = 3                      # seeds per Run: a point is a mean with its spread
        self.notice: str = ""               # what the model adapted to keep the draft valid
        self.wanted_min_size = cfg.min_client_size  # the preset's minimum, restored when possible
        self.listeners: list[Listener] = []
        self._pending: Optional[Config] = None      # a Run queued on the worker, not started yet
        self._current: Optional[Attempt] = None
        # The worker thread holds no reference to this model between jobs: a model dropped
        # without close() is collected, and the finalizer ends its thread.
        self._worker = Worker()
        self._worker.on_idle = weakref.WeakMethod(self._idle)
        weakref.finalize(self, self._worker.close, 0.0)

    # ----- events -----
    def _emit(self, event: str, payload: Any = None) -> None:
        """Call every listener. One that raises is logged and reported to the others as
        "listener_error", and the rest still run: a display bug must never kill the worker
        thread (that left `running` True and every later `run()` silently ignored)."""
        for fn in list(self.listeners):
            try:
                fn(event, payload)
            except Exception as e:
                log.exception("explorer listener %r failed on %r", fn, event)
                if event != "listener_error":  # a listener that fails on this too is only logged
                    self._emit("listener_error", f"display error on {event!r}: {type(e).__name__}: {e}")

    # ----- the draft config and the cheap views -----
    def set(self, **changes: Any) -> bool:
        """Change draft fields; on a valid config refresh the cheap views (no training) and, if
        a run is going, restart it with the new config. Invalid -> inline error, nothing else
        changes. Returns whether the draft is valid."""
        self.values.update(changes)
        self.modified = self.modified or bool(changes)
        try:
            cfg = self._feasible(from_dict(self.values))
            new_setting = setting(cfg)
            new_setting.atlas = atlas_curves(cfg, self.preset_name)
        except (ConfigError, ValueError) as e:
            fld = getattr(e, "field", None) or str(e).split(":")[0]
            self.error = (fld, str(e))
            self._emit("error", self.error)
            return False
        self.config, self.setting = cfg, new_setting
        if self.error is not None:
            self.error = None
            self._emit("error", None)
        self._emit("setting", new_setting)
        if self.auto_run or self._training_wanted():
            self.run()
        return True

    def _feasible(self, cfg: Config) -> Config:
        """The draft with the largest minimum client size (up to the preset's) for which every
        seed's split exists, so that a slider never dead-ends; a ConfigError with the reason in
        words when not even one image per client is possible."""
        seeds = range(cfg.seed, cfg.seed + self.seeds)
        size = self.wanted_min_size

        def splits(m: int) -> bool:
            try:
                for s in seeds:
                    Federation.from_config(cfg.replace(seed=s, min_client_size=m))
                return True
            except ConfigError:
                return False

        if not splits(size):  # the usual case is fast: a split at the wanted size exists
            size = min(size, *(_largest_min(cfg.dataset, cfg.image_size, cfg.clients, cfg.alpha, s)
                               for s in seeds))
            if size < 1:
                alpha = "IID" if cfg.alpha is None else f"alpha {cfg.alpha:.3g}"
                raise ConfigError("clients", f"at {alpha}, {cfg.clients} clients cannot all get images: "
                                  f"small alpha gives each class to a few clients, so others get none. "
                                  f"Use fewer clients or a larger alpha")
        self.notice = "" if size == self.wanted_min_size else (
            f"minimum client size lowered from {self.wanted_min_size} to {size} so that every "
            f"client of every seed gets data")
        self.values["min_client_size"] = size
        return cfg if cfg.min_client_size == size else cfg.replace(min_client_size=size)

    def load_preset(self, name: str) -> None:
        """Replace the whole draft with a named preset (keeps results and the pinned curve)."""
        self.preset_name, self.modified = name, False
        self.values = preset(name).as_dict()
        self.wanted_min_size = self.values["min_client_size"]
        self.set()

    # ----- the worker -----
    @property
    def running(self) -> bool:
        return self._worker.busy

    def _training_wanted(self) -> bool:
        """A run is queued or going and nobody asked it to stop: a change restarts it."""
        going = self._current is not None and self._current.stop_requested_at is None
        return self._pending is not None or going

    def _submit(self, job) -> None:
        self._mark_stop()  # whatever runs now is cancelled; the worker takes `job` next
        self._worker.submit(job)

    def run(self) -> bool:
        """Train the current draft (cancelling a run in progress first). False if the draft is
        invalid; the error is already on show."""
        if self.error is not None:
            self._emit("error", self.error)
            return False
        cfg = self._pending = self.config

        def train(stop: threading.Event) -> None:
            self._pending = None
            self._current = Attempt(cfg)
            try:
                self._train(self._current, stop)
            except Exception as e:  # a bug in a view must not kill the worker
                self._emit("failed", Attempt(cfg, status="error", error=f"{type(e).__name__}: {e}"))
            finally:
                self._current = None

        self._submit(train)
        return True

    def call_in_worker(self, fn: Callable[[threading.Event], None]) -> None:
        """Run `fn(stop)` on the worker (e.g. the feature-space panel), one job at a time."""
        def call(stop: threading.Event) -> None:
            try:
                fn(stop)
            except Exception as e:
                self._emit("failed", Attempt(self.config, status="error", error=f"{type(e).__name__}: {e}"))

        self._pending = None
        self._submit(call)

    def stop(self) -> None:
        """Cancel the run in progress (within one round) and anything queued."""
        self._pending = None
        self._mark_stop()
        self._worker.stop()

    def _mark_stop(self) -> None:
        # record how far the cancelled run had got, so "cancels within one round" is checkable
        current = self._current
        if current is not None and current.stop_requested_at is None:
            current.stop_requested_at = dict(current.rounds)

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until idle (no run, nothing queued); True if idle, False on timeout."""
        return self._worker.wait(timeout)

    def _idle(self) -> None:
        self._emit("idle")

    def close(self, timeout: float = 10.0) -> None:
        """Stop the run in progress (within one round), end the worker thread and drop the
        trained simulators, results and listeners, so a notebook that builds many explorers
        does not keep every thread and every model alive."""
        self._pending = None
        self._mark_stop()
        self._worker.close(timeout)
        self.simulators.clear()
        self.results.clear()
        self.attempts.clear()
        self.live = {"non_iid": {}, "iid": {}}
        self.listeners.clear()

    def _train(self, att: Attempt, stop: threading.Event) -> None:
        cfg = att.config
        att.seeds = list(range(cfg.seed, cfg.seed + self.seeds))
        att.total = cfg.rounds * (len(att.seeds) + sum(not experiment.is_cached(cfg.replace(seed=s))
                                                       for s in att.seeds if not cfg.iid))
        self.attempts.append(att)
        self.live = {"non_iid": {}, "iid": {}}
        self._emit("start", cfg)
        lock = threading.Lock()

        def on_round(phase: str, rec: dict) -> None:  # from the training threads, side by side
            with lock:
                self.live[phase].setdefault(rec["seed"], []).append(rec)
                att.done += 1
                att.rounds[phase] = min(len(v) for v in self.live[phase].values())
                snapshot = {ph: {s: list(v) for s, v in d.items()} for ph, d in self.live.items()}
                self._emit("round", (phase, rec, snapshot))
                self._emit("progress", att)

        try:
            results, sim = experiment.run_seeds(cfg, att.seeds, stop, on_round, keep_simulator=True)
        except Stopped:
            att.status = "stopped"
            self._emit("stopped", att)
        except (FloatingPointError, ConfigError, ValueError) as e:
            # NaN loss names `lr`; the draft stays valid, so this is not `self.error`
            att.status, att.error = "error", str(e)
            att.error_field = getattr(e, "field", "")
            self._emit("failed", att)
        else:
            att.status = "finished"
            point = Point(cfg.as_dict(), results, time.monotonic() - att.started)
            self.results.append(point)
            self.simulators[describe(point.config)] = sim  # for the feature-space panel
            while len(self.simulators) > 2:
                self.simulators.pop(next(iter(self.simulators)))
            self._emit("finished", point)
        finally:
            self._current = None

    def comparison(self) -> str:
        """The last point in words: against the atlas's measurement of the same setting (flagged
        when it falls outside the measured band) and against the point before (paired)."""
        if not self.results:
            return ""
        last = self.results[-1]
        out = []
        measured = atlas_curves(from_dict(last.config), self.preset_name)["alpha"]
        alpha = np.inf if last.config["alpha"] is None else last.config["alpha"]
        at = measured[np.isclose(measured["x"].astype(float), alpha)] if len(measured) else measured
        if len(at):
            m, sd, n = (float(at[k].iloc[0]) for k in ("robustness_mean", "robustness_sd", "n"))
            inside = abs(last.robustness - m) <= sd + last.robustness_sd
            out.append(f"atlas ({int(n)} seeds): {m:.3f} +- {sd:.3f}; this run "
                       + ("agrees with it." if inside else "is OUTSIDE the measured band (seed noise "
                          "alone rarely does this: check the setting, or the engine changed)."))
        if len(self.results) > 1:
            prev = self.results[-2]
            out.append(f"vs the previous setting ({describe(prev.config)}): {last.compare(prev)}")
        return " ".join(out)

    # ----- small helpers the GUI shows -----
    def pin(self) -> Optional[dict]:
        """Keep the last finished (or current) loss curve as a grey ghost to compare against."""
        if self.results:
            res = self.results[-1].runs[0]
            loss, cfg = [h["loss"] for h in res.history], res.config
        elif self.live["non_iid"]:
            first = next(iter(self.live["non_iid"].values()))
            loss, cfg = [h["loss"] for h in first], self.config.as_dict()
        else:
            return None
        self.pinned = {"label": describe(cfg), "loss": loss}
        self._emit("pinned", self.pinned)
        return self.pinned

    def reset(self) -> None:
        """Stop, restore the preset's settings and clear results, pin and live curves."""
        self.stop()
        self.results.clear()
        self.pinned = None
        self.live = {"non_iid": {}, "iid": {}}
        self._emit("reset")
        self.load_preset(self.preset_name)

    def config_yaml(self) -> str:
        """The draft as YAML: the plain `Config.as_dict()` values papermill and sweeps accept."""
        import yaml

        return yaml.safe_dump(self.config.as_dict(), sort_keys=False)


def describe(cfg: dict) -> str:
    """A short label for a run, e.g. 'mim · fl · alpha=0.1 · K=8'."""
    alpha = "IID" if cfg["alpha"] is None else f"alpha={cfg['alpha']:.3g}"
    graph = cfg["topology"] if cfg["topology"] in ("fl", "complete", "ring", "none") \
        else f"{cfg['topology']}(d={cfg['degree']})"
    return f"{cfg['objective']} · {graph} · {alpha} · K={cfg['clients']}"
