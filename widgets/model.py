"""The explorer's logic, with no widgets: a typed draft, cheap charts, one training worker.

`ExplorerModel` is a `traitlets.HasTraits`. Its `draft` (`draft.py`) holds the config being
edited; the model derives from it the last valid `config` (made trainable for every seed by
`federation.feasible`), its `setting` (the simulator's own `Federation` plus the atlas's curves),
`error`, `notice` and the time `estimate`, and keeps the running attempt's `live` records and
`progress`, the finished `results` and `status`. The page state a link carries (`preset`,
`seeds`, `compare`, `x_axis`) are traits too. The GUI links controls to these traits and
`watch`es them, the ipywidgets idiom; every behaviour here is testable without a browser.

Training runs on one worker thread (`worker.py`). With `auto_run` off, changing a control during
a run does not cancel it: the run finishes and the new draft waits (`pending`) for the next
Run, which stops the run in progress and trains the draft ("Stop and run this"); a second press
on Run for the setting already training is ignored. With `auto_run` on, every valid change
restarts the run (the engine stops within a local step). Traits set from the worker thread
notify watchers on that thread: they must only change widget properties.
"""
from __future__ import annotations

import gc
import logging
import threading
import time
import weakref
from typing import Any, Callable, Optional

import traitlets as T

from dssl_lite import atlas, experiment
from dssl_lite.config import Config, ConfigError
from dssl_lite.errors import Stopped
from dssl_lite.federation import feasible
from dssl_lite.presets import PRESETS, preset

from .draft import Draft
from .measured import Setting, compared, setting
from .points import Attempt, Point, describe
from .worker import Worker, return_freed_memory

log = logging.getLogger(__name__)
COMPARE = ["mim", "cl"]   # the objectives whose atlas curves a fresh page overlays
X_AXES = ("alpha", "degree", "traffic")  # traffic: the graphs against the MB they send per round


class ExplorerModel(T.HasTraits):
    """Draft config + cheap charts + one worker thread + finished results, as traits.

    Example:
        >>> m = ExplorerModel(preset("tiny"), "tiny")
        >>> m.set(alpha=0.5)        # cheap charts only
        >>> m.run(); m.wait(30)
        >>> m.results[-1].robustness
    """

    draft = T.Instance(Draft)                           # the config being edited, possibly invalid
    config = T.Instance(Config)                         # the last valid draft, trainable for every seed
    setting = T.Instance(Setting)
    error = T.Any(None)                                 # (field, message) while the draft is invalid
    notice = T.Unicode("")                              # what was adapted to keep the draft valid
    estimate = T.Any(None)                              # seconds a Run should take here (None: unknown)
    preset = T.Unicode("default")                       # the preset Reset goes back to
    preset_choice = T.Unicode("default")                # the preset menu: `preset`, or "custom"
    seeds = T.Int(3)                                    # seeds per Run
    compare = T.List(COMPARE)                           # objectives whose atlas curves the chart overlays
    x_axis = T.Enum(X_AXES, "alpha")                    # the robustness chart's x axis
    status = T.Unicode("idle")                          # idle | running | finished | stopped | failed
    attempt = T.Any(None)                               # the Attempt `status` is about
    live = T.Dict()                                     # {"non_iid"/"iid": {seed: [round records]}}
    progress = T.Any(None)                              # the running attempt's `progress()`
    results = T.List()                                  # finished `Point`s, oldest first
    failure = T.Any(None)                               # (field, message) of a failed run / display bug
    pending = T.Bool(False)                             # the draft waits for the next Run
    pinned = T.Any(None)                                # {"label", "loss"}: a ghost loss curve
    auto_run = T.Bool(False)                            # every valid change (re)starts a run
    cleared = T.Int(0)                                  # counts Resets: every view back to a fresh page's

    def __init__(self, cfg: Config, preset_name: str = "default", seeds: int = 3,
                 train: Callable = experiment.run_seeds):
        super().__init__(preset=preset_name, preset_choice=preset_name, seeds=seeds)
        self.initial_seeds = seeds
        self.train = train                  # (cfg, seeds, stop, on_round, keep_simulator) -> results, sim
        self.attempts: list[Attempt] = []
        self.simulators: dict = {}          # label -> trained Simulator, last two finished runs
        self._queued: Optional[Config] = None
        self._current: Optional[Attempt] = None
        self._shown: Any = None             # the draft values and seeds the charts were computed for
        self.live = {"non_iid": {}, "iid": {}}
        self.draft = Draft(cfg)
        self.draft.observe(lambda ch: self._refresh(), names=[n for n in self.draft.trait_names() if n != "notice"])
        self.observe(lambda ch: self._refresh(), names="seeds")
        self.observe(lambda ch: self._refresh(force=True), names="compare")
        self.observe(self._on_preset_choice, names="preset_choice")
        self._refresh()
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

    # ----- the draft and the cheap charts -----
    def set(self, **changes: Any) -> bool:
        """Change draft fields (alpha=None: IID); the cheap charts follow (no training). Returns
        whether the draft is valid; if not, `error` says why and the charts keep the last valid one."""
        if "alpha" in changes:
            alpha = changes.pop("alpha")
            changes["iid"] = alpha is None
            if alpha is not None:
                changes["alpha"] = alpha
        with self.draft.hold_trait_notifications():
            for name, value in changes.items():
                setattr(self.draft, name, value)
        return self.error is None

    @property
    def modified(self) -> bool:
        """Whether the draft differs from its preset (the preset menu then says "custom")."""
        return self.preset not in PRESETS or self.draft.values() != preset(self.preset).as_dict()

    def _refresh(self, force: bool = False) -> None:
        """The draft changed: validate it, make it trainable for every seed, and recompute the
        cheap charts. Several fields set at once notify once each; only the first recomputes."""
        values = self.draft.values()
        shown = (sorted(values.items(), key=lambda kv: kv[0]), self.seeds)
        if shown == self._shown and not force:
            return
        self._shown = shown
        said, self.draft.notice = self.draft.notice, ""
        try:
            wanted = self.draft.config()
            cfg = feasible(wanted, range(wanted.seed, wanted.seed + self.seeds))
            new = setting(cfg, self.preset, self.compare)
        except (ConfigError, ValueError) as e:
            self.error = (getattr(e, "field", None) or str(e).split(":")[0], str(e))
            return
        lowered = "" if cfg.min_client_size == wanted.min_client_size else (
            f"minimum client size lowered from {wanted.min_client_size} to {cfg.min_client_size} so that "
            f"every client of every seed gets data")
        self.notice = "; ".join(n for n in (said, lowered) if n)
        self.error = None
        self.config, self.setting = cfg, new
        self.preset_choice = "custom" if self.modified else self.preset
        self.estimate = self._estimate()
        if self.auto_run:
            self.run()
        else:
            self.pending = self._training is not None and self._training.key() != cfg.key()

    def _estimate(self) -> Optional[float]:
        """Seconds a Run should take on this machine (`bench.estimate`, the one estimate every
        page shows: JupyterLab and Voila ask it the same way); None when nothing was measured."""
        from dssl_lite.bench import estimate

        try:
            return estimate(self.config, self.seeds)
        except (OSError, ValueError, KeyError) as e:  # a damaged timings file must not break the page
            log.warning("no time estimate: %s", e)
            return None

    def _on_preset_choice(self, change) -> None:
        if change["new"] in PRESETS and (change["new"] != self.preset or self.modified):
            self.load_preset(change["new"])

    def load_preset(self, name: str) -> None:
        """Replace the whole draft with a named preset (keeps results and the pinned curve)."""
        cfg = preset(name)
        self.preset = name
        self._shown = None  # the atlas to read changed with the preset
        self.draft.load(cfg)
        self._refresh()  # when the draft already held every value, nothing above notified
        self.preset_choice = "custom" if self.modified else name

    # ----- the worker -----
    @property
    def running(self) -> bool:
        return self._worker.busy

    @property
    def alive(self) -> bool:
        """Whether the worker thread is alive (False after `close`)."""
        return self._worker.alive

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
        return_freed_memory()

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
            results, sim = self.train(cfg, att.seeds, stop, on_round, keep_simulator=True)
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
            self.estimate = self._estimate()  # its IID baselines are cached now: the next Run is quicker
            self.attempt, self.status = att, "finished"

    def comparison(self) -> str:
        """The last point in words, against the atlas and the point before (`measured.compared`)."""
        return compared(self.results)

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
        """Back to a fresh page at the preset: stop; the preset's settings, the seeds, objectives
        and axis the page opened with; no results, pin, live curves, progress or trained models
        (`cleared` tells every view, the feature panel included)."""
        self.stop()
        self.simulators.clear()
        self.attempts.clear()
        self.results, self.pinned, self.live = [], None, {"non_iid": {}, "iid": {}}
        self.progress, self.attempt, self.failure, self.pending = None, None, None, False
        with self.hold_trait_notifications():
            self.seeds, self.compare, self.x_axis = self.initial_seeds, list(COMPARE), "alpha"
        self.load_preset(self.preset)
        self.cleared += 1
        self.status = "idle"  # last: a page that says "no runs yet" shows everything reset

    def config_yaml(self) -> str:
        """The draft as YAML: the plain `Config.as_dict()` values papermill and sweeps accept."""
        import yaml

        return yaml.safe_dump(self.config.as_dict(), sort_keys=False)
