"""The explorer's logic, with no widgets: a draft config, cheap views, and one training worker.

`ExplorerModel` is a `traitlets.HasTraits`: the draft (`values`), the last valid `config`, its
`setting` (the simulator's own `Federation` plus the atlas's curves), `error`, the running
attempt's `live` records and `progress`, the finished `results`, and `status`. The GUI
(`explorer.py`) links controls to it and `watch`es its traits, the ipywidgets idiom; every
behaviour here is testable without a browser.

Training runs on one worker thread (`worker.py`). With `auto_run` off, changing a control during
a run does not cancel it: the run finishes and the new draft waits (`pending`) for the next
Run, which stops the run in progress and trains the draft ("Stop and run this"); a second press
on Run for the setting already training is ignored. With `auto_run` on, every valid change
restarts the run (the engine stops within a local step). Traits set from the worker thread
notify watchers on that thread: they must only change widget properties.
"""
from __future__ import annotations

import ctypes
import functools
import gc
import logging
import sys
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
import traitlets as T

from dssl_lite import atlas, experiment
from dssl_lite.config import Config, ConfigError, from_dict
from dssl_lite.presets import preset
from dssl_lite.data import load
from dssl_lite.errors import Stopped
from dssl_lite.federation import Federation
from dssl_lite.partition import largest_min_size
from dssl_lite.registry import TOPOLOGIES

from .points import Attempt, Point, describe
from .worker import Worker

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


def atlas_curves(cfg: Config, preset_name: str) -> dict:
    """The shipped atlas's curves through `cfg` along alpha and along the graphs (empty frames
    when the preset has no atlas or the setting was not measured)."""
    from dssl_lite import atlas

    table = atlas.shipped(preset_name)
    return {x: atlas.curve(table, cfg, x) for x in ("alpha", "degree")}


def setting(cfg: Config, preset_name: str = "", objectives=()) -> Setting:
    """Partition and graph of `cfg` (the simulator's own cached `Federation`) and, per objective
    on the chart (and `cfg`'s own), the atlas's curves through the same setting."""
    curves = {o: atlas_curves(cfg.replace(objective=o), preset_name)
              for o in dict.fromkeys([*objectives, cfg.objective])} if preset_name else {}
    return Setting(cfg, Federation.from_config(cfg), curves)


def against_atlas(point) -> str:
    """One finished `Point` against the shipped atlas rows of its setting (see `comparison`)."""
    import math

    from dssl_lite import atlas
    from dssl_lite.stats import prediction_interval

    cfg = from_dict(point.config)
    setting = cfg.replace(seed=0).train_key()
    col = {"fl-iid": "robustness_fl_iid", "same-graph": "robustness_same_graph"}[cfg.reference]
    table = atlas.everything()
    rows = table[table["setting"] == setting] if len(table) else table
    if not len(rows):
        return "the atlas has not measured this setting."
    by_seed = dict(zip(rows["seed"].astype(int), rows[col].astype(float)))
    here = atlas.machine() in [m for f in set(rows["source"]) for m in atlas.built_on(atlas.SHIPPED / f)]
    mine = {r.seed: r.metrics.get(col, r.robustness) for r in point.runs}
    shared = [s for s in mine if s in by_seed]
    if shared:
        worst = max(atlas.difference(mine[s], by_seed[s]) for s in shared)
        seeds = ", ".join(map(str, shared))
        if worst <= atlas.TOLERANCE:
            return f"seed{'s' if len(shared) > 1 else ''} {seeds}: reproduces the atlas to the last digit."
        where = "" if here else " (the atlas was built on another CPU, where the last digits differ)"
        return f"seed{'s' if len(shared) > 1 else ''} {seeds}: differs from the atlas by up to {worst:.4f}{where}."
    vals = list(by_seed.values())
    m, n = len(vals), len(mine)
    mean, sd = float(sum(vals) / m), float(np.std(vals, ddof=1)) if m > 1 else math.nan
    lo, hi = prediction_interval(mean, sd, m, n)
    if not math.isfinite(lo):
        return f"the atlas has one seed here ({mean:.3f}): too few to say what to expect."
    inside = lo <= point.robustness <= hi
    return (f"the atlas ({m} other seeds): the mean of {n} new seed{'s' if n > 1 else ''} should fall in "
            f"[{lo:.3f}, {hi:.3f}] (95 %); this run's {point.robustness:.3f} "
            + ("does." if inside else "does not: that happens 1 time in 20 by chance; check the setting."))


def _everyone_takes_part(values: dict) -> str:
    """On a graph every client takes part (sampling is FL's): a draft moved from FL at
    participation < 1 to a graph gets participation 1 in `values`, not an error about a slider
    the page disables on graphs. -> what was changed, in words ("" when nothing was)."""
    try:
        federated = TOPOLOGIES.get(values.get("topology")).obj.federated
        share = float(values.get("participation", 1.0))
    except (ConfigError, TypeError, ValueError):
        return ""  # from_dict names the bad field
    if federated or share >= 1:
        return ""
    values["participation"] = 1.0
    return f"participation set from {share:g} to 1: on a graph every client takes part (sampling is FL's)"


# glibc's malloc_trim (None elsewhere: macOS, Windows, musl), found once, not at interpreter exit
_MALLOC_TRIM = getattr(ctypes.CDLL(None), "malloc_trim", None) if sys.platform.startswith("linux") else None


def _return_freed_memory() -> None:
    """Hand the C heap's free pages back to the system. The tensors a run frees stay with the
    allocator, so a closed explorer's memory still counted against the kernel: measured, 70-90
    MB after 30 runs at the tiny preset, returned by this call."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


@functools.lru_cache(maxsize=256)
def _largest_min(dataset: str, image_size: int, clients: int, alpha, seed: int) -> int:
    return largest_min_size(load(dataset, image_size).train_y.cpu().numpy(), clients, alpha, seed)


class ExplorerModel(T.HasTraits):
    """Draft config + cheap views + one worker thread + finished results, as traits.

    Example:
        >>> m = ExplorerModel(preset("tiny"))
        >>> m.set(alpha=0.5)        # cheap views only
        >>> m.run(); m.wait(30)
        >>> m.results[-1].robustness
    """

    values = T.Dict()                                   # the draft, possibly invalid
    config = T.Instance(Config)                         # the last valid draft
    setting = T.Instance(Setting)
    error = T.Any(None)                                 # (field, message) while the draft is invalid
    notice = T.Unicode("")                              # what was adapted to keep the draft valid
    status = T.Unicode("idle")                          # idle | running | finished | stopped | failed
    attempt = T.Any(None)                               # the Attempt `status` is about
    live = T.Dict()                                     # {"non_iid"/"iid": {seed: [round records]}}
    progress = T.Any(None)                              # the running attempt's `progress()`
    results = T.List()                                  # finished `Point`s, oldest first
    failure = T.Any(None)                               # (field, message) of a failed run / display bug
    pending = T.Bool(False)                             # the draft waits for the next Run
    pinned = T.Any(None)                                # {"label", "loss"}: a ghost loss curve
    auto_run = T.Bool(False)                            # every valid change (re)starts a run
    seeds = T.Int(3)                                    # seeds per Run
    compare = T.List(["mim", "cl"])                     # objectives whose atlas curves the chart overlays

    def __init__(self, cfg: Config, preset_name: str = "default", modified: bool = False):
        super().__init__()
        self.preset_name = preset_name      # the preset Reset goes back to
        self.modified = modified            # the draft differs from that preset
        self.wanted_min_size = cfg.min_client_size  # the preset's minimum, restored when possible
        self.attempts: list[Attempt] = []
        self.simulators: dict = {}          # label -> trained Simulator, last two finished runs
        self._queued: Optional[Config] = None
        self._current: Optional[Attempt] = None
        self.values = cfg.as_dict()
        self.config = cfg
        self.setting = setting(cfg, preset_name, self.compare)
        self.observe(lambda ch: setattr(self, "setting", setting(self.config, self.preset_name, ch["new"])),
                     names="compare")
        self.live = {"non_iid": {}, "iid": {}}
        # The worker thread holds no reference to this model between jobs: a model dropped
        # without close() is collected, and the finalizer ends its thread.
        self._worker = Worker()
        self._worker.on_idle = weakref.WeakMethod(self._idle)
        weakref.finalize(self, self._worker.close, 0.0)

    # ----- watching traits safely -----
    def watch(self, fn: Callable[[dict], None], *names: str) -> None:
        """`fn(change)` on every change of the named traits. A watcher that raises is logged and
        reported in `failure`; the training thread that set the trait never sees the error."""
        def safe(change):
            try:
                fn(change)
            except Exception as e:
                log.exception("explorer display failed on %r", change["name"])
                if change["name"] != "failure":
                    self.failure = ("", f"display error on {change['name']!r}: {type(e).__name__}: {e}")
        self.observe(safe, names=list(names))

    # ----- the draft config and the cheap views -----
    def set(self, **changes: Any) -> bool:
        """Change draft fields; on a valid config refresh the cheap views (no training). A run
        going on is restarted only with `auto_run`; otherwise the new draft is `pending`.
        Invalid -> `error`, nothing else changes. Returns whether the draft is valid."""
        values = {**self.values, **changes}
        self.modified = self.modified or bool(changes)
        everyone = _everyone_takes_part(values)
        try:
            cfg = self._feasible(from_dict(values), values)
            self.notice = "; ".join(n for n in (everyone, self.notice) if n)
            new = setting(cfg, self.preset_name, self.compare)
        except (ConfigError, ValueError) as e:
            self.values = values
            self.error = (getattr(e, "field", None) or str(e).split(":")[0], str(e))
            return False
        self.values, self.error = values, None
        self.config, self.setting = cfg, new
        if self.auto_run:
            self.run()
        else:
            self.pending = self._training is not None and self._training.key() != cfg.key()
        return True

    def _feasible(self, cfg: Config, values: dict) -> Config:
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
        values["min_client_size"] = size
        return cfg if cfg.min_client_size == size else cfg.replace(min_client_size=size)

    def load_preset(self, name: str) -> None:
        """Replace the whole draft with a named preset (keeps results and the pinned curve)."""
        self.preset_name, self.modified = name, False
        cfg = preset(name)
        self.wanted_min_size = cfg.min_client_size
        self.values = {}
        self.set(**cfg.as_dict())
        self.modified = False

    # ----- the worker -----
    @property
    def running(self) -> bool:
        return self._worker.busy

    @property
    def _training(self) -> Optional[Config]:
        """The config queued or training now (None when idle or stopping)."""
        if self._queued is not None:
            return self._queued
        cur = self._current
        return cur.config if cur is not None and cur.stop_requested_at is None else None

    def run(self) -> bool:
        """Train the current draft. Ignored (True) when that setting is already queued or
        training; otherwise a run in progress is stopped first ("Stop and run this"). False if
        the draft is invalid; the error is already on show."""
        if self.error is not None:
            self.error = tuple(self.error)  # shown again
            return False
        cfg = self.config
        if self._training is not None and self._training.key() == cfg.key():
            return True  # a second press, or a change back to what trains: nothing to do
        self._queued, self.pending = cfg, False
        self._mark_stop()

        def train(stop: threading.Event) -> None:
            self._queued = None
            self._current = att = Attempt(cfg)
            try:
                self._train(att, stop)
            except Exception as e:  # a bug must not kill the worker
                att.status, att.error = "error", f"{type(e).__name__}: {e}"
                self.failure, self.attempt, self.status = ("", att.error), att, "failed"
            finally:
                self._current = None

        self._worker.submit(train)
        return True

    def call_in_worker(self, fn: Callable[[threading.Event], None]) -> None:
        """Run `fn(stop)` on the worker (e.g. the feature-space panel), one job at a time."""
        def call(stop: threading.Event) -> None:
            try:
                fn(stop)
            except Exception as e:
                self.failure = ("", f"{type(e).__name__}: {e}")

        self._queued = None
        self._mark_stop()
        self._worker.submit(call)

    def stop(self) -> None:
        """Cancel the run in progress (within one local step) and anything queued."""
        self._queued, self.pending = None, False
        self._mark_stop()
        self._worker.stop()

    def _mark_stop(self) -> None:
        # record how far the cancelled run had got, so "stops within one round" is checkable
        cur = self._current
        if cur is not None and cur.stop_requested_at is None:
            cur.stop_requested_at = dict(cur.rounds)

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until idle (no run, nothing queued); True if idle, False on timeout."""
        return self._worker.wait(timeout)

    def _idle(self) -> None:
        self.pending = False if self.status != "running" else self.pending
        if self.status == "running":
            self.status = "idle"

    def close(self, timeout: float = 10.0) -> None:
        """Stop the run in progress, end the worker thread and drop the trained simulators and
        results, so a notebook that builds many explorers keeps no threads or models alive; then
        give the freed memory back to the system."""
        self._queued = None
        self._mark_stop()
        self._worker.close(timeout)
        self.unobserve_all()  # first: no view redraws for a closing model
        self.simulators.clear()
        self.attempts.clear()
        self.results = []
        self.live = {"non_iid": {}, "iid": {}}
        gc.collect()
        _return_freed_memory()

    def _train(self, att: Attempt, stop: threading.Event) -> None:
        cfg = att.config
        att.seeds = list(range(cfg.seed, cfg.seed + self.seeds))
        # IID references this CPU's atlas measured to the last digit need no training: half a Run
        atlas.lend_baselines([cfg.replace(seed=s) for s in att.seeds])
        att.total = cfg.rounds * (len(att.seeds) + sum(experiment.uncached_baselines(cfg.replace(seed=s))
                                                       for s in att.seeds))
        self.attempts.append(att)
        self.live, self.progress, self.failure = {"non_iid": {}, "iid": {}}, att.progress(), None
        self.attempt, self.status = att, "running"
        lock, live = threading.Lock(), {"non_iid": {}, "iid": {}}

        def on_round(phase: str, rec: dict) -> None:  # from the training threads, side by side
            with lock:
                live[phase].setdefault(rec["seed"], []).append(rec)
                att.done += 1
                att.rounds[phase] = min(len(v) for v in live[phase].values())
                self.live = {ph: {s: list(v) for s, v in d.items()} for ph, d in live.items()}
                self.progress = att.progress()

        try:
            results, sim = experiment.run_seeds(cfg, att.seeds, stop, on_round, keep_simulator=True)
        except Stopped:
            att.status = "stopped"
            self.attempt, self.status = att, "stopped"
        except (FloatingPointError, ConfigError, ValueError) as e:
            # NaN loss names `lr`; the draft stays valid, so this is `failure`, not `error`
            att.status, att.error, att.error_field = "error", str(e), getattr(e, "field", "")
            self.failure, self.attempt, self.status = (att.error_field, att.error), att, "failed"
        else:
            att.status = "finished"
            point = Point(cfg.as_dict(), results, time.monotonic() - att.started)
            self.simulators[describe(point.config)] = sim  # for the feature-space panel
            while len(self.simulators) > 2:
                self.simulators.pop(next(iter(self.simulators)))
            self.results = [*self.results, point]
            self.attempt, self.status = att, "finished"

    def comparison(self) -> str:
        """The last point in words, against the atlas's measurement of the same setting: seed by
        seed where the atlas has the run's seeds ("reproduces the atlas to the last digit", or the
        difference); otherwise against the 95 % prediction interval for the mean of that many
        seeds. Then against the point before (paired by seed)."""
        if not self.results:
            return ""
        last, out = self.results[-1], []
        out.append(against_atlas(last))
        if len(self.results) > 1:
            prev = self.results[-2]
            out.append(f"vs the previous setting ({describe(prev.config)}): {last.compare(prev)}")
        return " ".join(o for o in out if o)

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
        return self.pinned

    def reset(self) -> None:
        """Stop, restore the preset's settings and clear results, pin, live curves and the trained
        models (the feature panel then says that nothing has run)."""
        self.stop()
        self.simulators.clear()
        self.results, self.pinned, self.live, self.status = [], None, {"non_iid": {}, "iid": {}}, "idle"
        self.load_preset(self.preset_name)

    def config_yaml(self) -> str:
        """The draft as YAML: the plain `Config.as_dict()` values papermill and sweeps accept."""
        import yaml

        return yaml.safe_dump(self.config.as_dict(), sort_keys=False)
