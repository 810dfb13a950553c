"""The live loss chart: how the training loss moved since round 1, as a Run trains."""
from __future__ import annotations

import matplotlib.ticker
import numpy as np

from dssl_lite.registry import OBJECTIVES

from .charts import TEXT_PT, TITLE_PT, Chart

NO_RUN = "no run yet"


class LossChart(Chart):
    """Live training loss per round as its change since round 1, so that down means learning for
    every objective, whatever the sign and scale of its loss (SimSiam's is a negative cosine, so
    a ratio to round 1 would climb as it learns): the non-IID mean over clients and seeds (solid,
    in the objective's colour), thin per-client lines of the first seed, the IID baseline
    (dashed, when it trains) and a pinned earlier run (grey ghost). No ticks until there is data."""

    def __init__(self, **kw):
        super().__init__(size_px=(500, 340), **kw)
        self.ax = self.fig.add_subplot()
        self.ax.set_xlabel("round", fontsize=TEXT_PT)
        self.ax.set_ylabel("change in loss since round 1\n(down = learning)", fontsize=TEXT_PT)
        self.ax.tick_params(labelsize=TEXT_PT)
        (self.ghost,) = self.ax.plot([], [], color="0.7", lw=2.5, label="_pinned")  # no legend until pinned
        (self.iid,) = self.ax.plot([], [], "--", color="0.35", lw=1.5, label="_iid")
        (self.main,) = self.ax.plot([], [], color=OBJECTIVES.colour("mim"), lw=2.5, label="non-IID (mean)")
        self.client_lines: list = []
        self.raw: list = []
        self.ax.set_title(NO_RUN, fontsize=TITLE_PT)
        self._legend()
        self._empty(True)
        self.fit()

    def _empty(self, empty: bool) -> None:
        """Before any data: no ticks that would mean nothing."""
        if empty:
            self.ax.set_xticks([])
            self.ax.set_yticks([])
        else:
            self.ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True, nbins=6))
            self.ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(nbins=5))
            self.ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:+.2g}" if v else "0"))

    def _legend(self) -> None:
        shown = [ln for ln in (self.main, self.iid, self.ghost) if not ln.get_label().startswith("_")]
        self.ax.legend(handles=shown, fontsize=TEXT_PT, loc="upper right")

    def start(self, label: str, objective: str, clients: int) -> None:
        """A run begins: one thin line per client, in the objective's colour."""
        self._drop_clients()
        colour = OBJECTIVES.colour(objective)
        self.client_lines = [self.ax.plot([], [], color=colour, lw=0.6, alpha=0.35)[0] for _ in range(clients)]
        self.main.set_color(colour)
        self.main.set_data([], [])
        self.iid.set_data([], [])
        self.iid.set_label("_iid")
        self.ax.set_title(label, fontsize=TITLE_PT)
        self._legend()
        self._empty(self.ghost.get_label().startswith("_"))
        self.draw()

    def clear(self) -> None:
        """Back to the empty chart of a fresh page: no lines, no ghost, no ticks."""
        self._drop_clients()
        for line in (self.main, self.iid, self.ghost):
            line.set_data([], [])
        self.iid.set_label("_iid")
        self.ghost.set_label("_pinned")
        self.raw = []
        self.ax.set_title(NO_RUN, fontsize=TITLE_PT)
        self._legend()
        self._empty(True)
        self.draw()

    def _drop_clients(self) -> None:
        for ln in self.client_lines:
            ln.remove()
        self.client_lines = []

    @staticmethod
    def relative(runs: dict) -> tuple[list, list]:
        """Mean over seeds of loss - first-round loss, for the rounds every seed has reached."""
        curves = [np.array([r["loss"] for r in recs]) for recs in runs.values() if recs]
        if not curves:
            return [], []
        n = min(len(c) for c in curves)
        rel = np.mean([c[:n] - c[0] for c in curves], axis=0)
        return list(range(1, n + 1)), list(rel)

    def show(self, live: dict) -> None:
        """Redraw from the model's live records: `{phase: {seed: [records]}}`."""
        xs, ys = self.relative(live["non_iid"])
        self.main.set_data(xs, ys)
        curves = [np.array([r["loss"] for r in recs]) for recs in live["non_iid"].values() if recs]
        self.raw = list(np.mean([c[:len(xs)] for c in curves], axis=0)) if xs else []
        first = next(iter(live["non_iid"].values()), [])
        if first:
            per_client = np.array([[np.nan if v is None else v for v in r["client_loss"]] for r in first])
            per_client = per_client - per_client[:1]
            x = range(1, len(first) + 1)
            for k, ln in enumerate(self.client_lines[: per_client.shape[1]]):
                ln.set_data(x, per_client[:, k])
        ixs, iys = self.relative(live["iid"])
        self.iid.set_data(ixs, iys)
        if ixs and self.iid.get_label().startswith("_"):
            self.iid.set_label("IID baseline")
            self._legend()
        self._empty(not xs and not ixs and self.ghost.get_label().startswith("_"))
        self._rescale()

    def describe(self) -> str:
        """The chart in words (screen readers, tests): how the mean loss moved since round 1."""
        xs, ys = self.main.get_data()
        if not len(xs):
            return NO_RUN
        first, last = self.raw[0], self.raw[-1]
        trend = "falling: learning" if ys[-1] < 0 else "not falling"
        return (f"non-IID loss over {len(xs)} round(s): {first:+.4f} to {last:+.4f}; "
                f"change since round 1 {ys[-1]:+.4f} ({trend})")

    def pin(self, pinned) -> None:
        if pinned is None:
            self.ghost.set_data([], [])
            self.ghost.set_label("_pinned")
        else:
            loss = np.array(pinned["loss"])
            self.ghost.set_data(range(1, len(loss) + 1), loss - loss[0])
            self.ghost.set_label(f"pinned: {pinned['label']}")
            self._empty(False)
        self._legend()
        self._rescale()

    def _rescale(self) -> None:
        self.ax.relim()
        self.ax.autoscale_view()
        self.fit_ticks(self.ax)
        self.draw()
