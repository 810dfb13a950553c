"""Finding 4's chart: how similar each client's features stay to the global model's (linear CKA,
1 = the same), per objective, one line per seed joining its two objectives (the comparison is
paired by seed), each objective's mean and +-1 sd beside. From the shipped drift atlas."""
from __future__ import annotations

import numpy as np
from matplotlib.collections import LineCollection

from dssl_lite.registry import OBJECTIVES

from .charts import TEXT_PT, TITLE_PT, Chart

NOT_MEASURED = ("not measured at this setting\n(the drift atlas: dssl-lite atlas build\n"
                "examples/atlas_live_drift.yaml)")


class DriftChart(Chart):
    """See the module. `show(rows, objectives, hidden)`: rows of the runs table with `arm`, `seed`
    and `cka` (finding 4's `rows`); hidden keeps the measurement back (predict first)."""

    def __init__(self, size_px=(700, 430), **kw):
        super().__init__(size_px=size_px, **kw)
        self.ax = self.fig.add_subplot()
        self.ax.tick_params(labelsize=TEXT_PT)
        self.ax.set_ylabel("similarity of local to global\nfeatures (linear CKA, 1 = same)", fontsize=TEXT_PT)
        self.pairs = LineCollection([], colors="0.6", linewidths=1.2, zorder=1)
        self.ax.add_collection(self.pairs)
        self.dots, self.means = [], []
        self.message = self.ax.text(0.5, 0.5, "", transform=self.ax.transAxes, ha="center", va="center",
                                    fontsize=TITLE_PT, color="0.3")
        self.note = ""
        self.fit()

    def show(self, rows, objectives=("mim", "cl"), hidden: bool = False) -> None:
        for a in self.dots + self.means:
            a.remove()
        self.dots, self.means = [], []
        self.ax.set_xticks(range(len(objectives)), [f"{o}" for o in objectives])
        self.ax.set_xlim(-0.6, len(objectives) - 0.4)
        have = rows is not None and len(rows) and "cka" in rows and rows["cka"].notna().any()
        if hidden or not have:
            self.pairs.set_segments([])
            self.note = "the measurement is hidden: predict first" if hidden else "not measured at this setting"
            self.message.set_text("predict first, then reveal" if hidden else NOT_MEASURED)
            self.ax.set_ylim(0, 1)
            self.fit_ticks(self.ax)
            self.draw()
            return
        self.message.set_text("")
        wide = rows.pivot_table(index="seed", columns="arm", values="cka")
        wide = wide[[o for o in objectives if o in wide]]
        xs = [objectives.index(o) for o in wide.columns]
        self.pairs.set_segments([np.column_stack([xs, r]) for r in wide.to_numpy() if np.isfinite(r).all()])
        for x, o in zip(xs, wide.columns):
            v = wide[o].dropna().to_numpy()
            colour = OBJECTIVES.colour(o)
            self.dots.append(self.ax.scatter(np.full(len(v), x), v, s=60, c=colour, edgecolors="k", zorder=3))
            self.means.append(self.ax.errorbar([x + 0.15], [v.mean()], yerr=[v.std(ddof=1) if len(v) > 1 else 0],
                                               fmt="D", color=colour, ms=9, capsize=6, zorder=4))
        vals = wide.to_numpy()[np.isfinite(wide.to_numpy())]
        pad = max(0.02, 0.1 * (vals.max() - vals.min()))
        self.ax.set_ylim(vals.min() - pad, min(1.0 + pad, vals.max() + pad))
        means = ", ".join(f"{o} {wide[o].mean():.3f}" for o in wide.columns)
        self.note = f"mean CKA over {len(wide)} seeds: {means} (lines join the same seed)"
        self.fit_ticks(self.ax)
        self.draw()

    def describe(self) -> str:
        return f"drift chart: {self.note}"
