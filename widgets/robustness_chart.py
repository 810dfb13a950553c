"""The robustness chart: what the atlas measured through the current setting, and the runs.

The atlas's curves (mean over its seeds, a band of +-1 sd) of every objective on show, each in its
registry colour, with a star where the controls are; then one point per Run on top, in the same
colours (mean over its seeds, bar +-1 sd), circle = FL, triangle = DecL. Along alpha (a log axis;
IID apart at the right, never joined to the curve, since nothing was measured in between), along
the graphs (ring to complete and FL, each labelled with its average degree), or the same graphs
against the megabytes they send per round (`traffic`: what connectivity costs, each point named).
The grey line at 1 means nothing was lost to non-IID data.
"""
from __future__ import annotations

import numpy as np
from matplotlib.collections import LineCollection

from dssl_lite.config import from_dict
from dssl_lite.registry import OBJECTIVES
from dssl_lite.topologies import label as graph_label
from dssl_lite.traffic import communication

from .charts import TEXT_PT, Chart

FAMILY_MARKERS = {"FL": "o", "DecL": "^"}
IID_X = 1000.0  # where IID sits on the log alpha axis, labelled "IID"
REFERENCES = {"fl-iid": "FL on IID data", "same-graph": "the same graph on IID data"}
NOT_MEASURED = "the atlas has not measured this setting: a Run measures it"


class RobustnessChart(Chart):
    """See the module. `show_atlas` draws the measured curves (cheap: no training), `update` the
    runs; `hidden=True` keeps the measurement back (a lesson's "predict first")."""

    def __init__(self, size_px=(700, 430), **kw):
        super().__init__(size_px=size_px, **kw)
        self.ax = self.fig.add_subplot()
        self.ax.axhline(1.0, color="0.75", lw=1.2, zorder=0)
        self.ax.tick_params(labelsize=TEXT_PT)
        self.points, self.bars, self.lines, self.iid_marks, self.bands, self.tags = {}, {}, {}, {}, [], []
        (self.marker,) = self.ax.plot([], [], marker="*", ms=20, color="gold", mec="k", lw=0, zorder=3.5,
                                      label="this setting (atlas)")
        self.results: list = []
        self.note = NOT_MEASURED
        self.drawn: dict = {}
        self.x, self.graphs, self.reference, self.traffic_xs = "", [], "", []
        self._legend_key = None
        self._axes_for("alpha")
        self._ylabel("fl-iid")

    # ----- artists -----
    def _artists(self, obj: str) -> None:
        if (obj, "FL") in self.points:
            return
        colour = OBJECTIVES.colour(obj) if obj in OBJECTIVES else "0.4"
        for fam, marker in FAMILY_MARKERS.items():  # runs on top of everything the atlas draws
            self.points[obj, fam] = self.ax.scatter(np.empty(0), np.empty(0), c=colour, marker=marker, s=90,
                                                    edgecolors="k", linewidths=1.0, label=f"{obj}: your runs ({fam})",
                                                    zorder=6)
            self.bars[obj, fam] = LineCollection([], colors=colour, linewidths=2.2, zorder=5)
            self.ax.add_collection(self.bars[obj, fam])
        (self.lines[obj],) = self.ax.plot([], [], "-o", color=colour, lw=2.2, ms=5, zorder=2,
                                         label=f"{obj}: atlas (band: +-1 sd)")
        self.iid_marks[obj] = self.ax.errorbar([], [], yerr=[], fmt="s", color=colour, ms=6, capsize=4, zorder=2,
                                               label="_iid")

    def _axes_for(self, x: str) -> None:
        if x == self.x:
            return
        self.x = x
        if x == "alpha":
            self.ax.set_xscale("log")
            self.ax.set_xlim(0.006, IID_X * 1.8)
            self.ax.set_xticks([0.01, 0.1, 1, 10, 100, IID_X], ["0.01", "0.1", "1", "10", "100", "IID"])
            self.ax.minorticks_off()
            self.ax.set_xlabel("alpha (small = more non-IID)", fontsize=TEXT_PT)
        elif x == "degree":
            self.ax.set_xscale("linear")
            self.ax.set_xlabel("graph (its average degree): sparse to dense, and FL", fontsize=TEXT_PT)
        else:
            self.graphs = []
            self.ax.set_xscale("log")
            self.ax.minorticks_off()
            self.ax.set_xlabel("MB sent per round, every message (log scale)", fontsize=TEXT_PT)
        self._legend_key = None

    def _ylabel(self, reference: str) -> None:
        if reference != self.reference:
            self.reference = reference
            self.ax.set_ylabel(f"robustness = accuracy /\naccuracy of {REFERENCES[reference]}", fontsize=TEXT_PT)
            self._legend_key = None

    def _graph_axis(self, curves: dict, setting) -> None:
        """Categorical positions, one per graph the atlas measured (and the current one), ordered
        by average degree."""
        seen = {}
        for c in curves.values():
            for r in c.to_dict("records"):
                seen.setdefault(r["label"], r["x"])
        here = setting.config
        seen.setdefault(graph_label(here.topology, here.degree), setting.average_degree)
        order = sorted(seen, key=lambda g: (seen[g], g == "fl"))
        if order != self.graphs:
            self.graphs = order
            self.ax.set_xlim(-0.5, len(order) - 0.5)
            self.ax.set_xticks(range(len(order)), [f"{g}\n({seen[g]:.1f})" for g in order])
            self._legend_key = None

    def _traffic_axis(self, xs) -> None:
        """A log axis over the megabytes per round in `xs` (the measured graphs, each objective's
        model its own size, the setting and the runs); the names go beside the points."""
        lo, hi = min(xs) / 1.6, max(xs) * 1.6
        ticks = [t for t in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if lo <= t <= hi]
        self.ax.set_xlim(lo, hi)
        self.ax.set_xticks(ticks, [f"{t:g}" for t in ticks])

    def _xpos(self, value, graph: str = "") -> float:
        if self.x == "alpha":
            return IID_X if value is None or (isinstance(value, float) and np.isinf(value)) else value
        return float(self.graphs.index(graph)) if graph in self.graphs else np.nan

    def _run_x(self, config: dict) -> float:
        """Where a Run sits: its alpha, its graph, or the megabytes it sent per round."""
        if self.x == "alpha":
            return self._xpos(config["alpha"])
        if self.x == "traffic":
            return communication(from_dict(config))["bytes_per_round"] / 1e6
        return self._xpos(None, graph_label(config["topology"], config["degree"]))

    # ----- the atlas -----
    def show_atlas(self, setting, x: str = "alpha", objectives=("mim", "cl"), hidden: bool = False) -> None:
        """The atlas curve of every objective in `objectives` through `setting`, and a star at
        the controls' position (or `NOT_MEASURED`); nothing of it while `hidden`."""
        self._axes_for(x)
        c = setting.config
        self._ylabel(c.reference)
        for artist in self.bands + self.tags:
            artist.remove()
        self.bands, self.tags = [], []
        along = "degree" if x == "traffic" else x  # traffic: the graphs' curve, placed by what each sends
        curves = {o: cur[along] for o, cur in setting.atlas.items() if along in cur and o in objectives}
        if x == "degree":
            self._graph_axis(curves, setting)
        elif x == "traffic":  # what the setting sends and every measured graph, runs added in `update`
            self.traffic_xs = [communication(c)["bytes_per_round"] / 1e6,
                               *(v for cur in curves.values() for v in cur.get("mb_per_round", []))]
        for obj in list(self.lines):
            self.lines[obj].set_data([], [])
            self._iid_mark(obj, None)
        family = "FL" if c.is_federated else "DecL"
        here_y, self.note, self.drawn = None, NOT_MEASURED, {}
        for obj in objectives:
            self._artists(obj)
            cur = curves.get(obj)
            if hidden or cur is None or not len(cur):
                continue
            if x == "alpha":
                cur = cur[cur["family"] == family]
                xs = np.array([self._xpos(v) for v in cur["x"].astype(float)])
            elif x == "traffic":
                xs = cur["mb_per_round"].to_numpy(float)
            else:
                xs = np.array([self._xpos(None, g) for g in cur["label"]])
            m, sd = cur["robustness_mean"].to_numpy(float), cur["robustness_sd"].to_numpy(float)
            order = np.argsort(xs, kind="stable")
            xs, m, sd, n = xs[order], m[order], sd[order], cur["n"].to_numpy()[order]
            labels = cur["label"].to_numpy()[order]
            if x == "traffic":
                self.tags += [self.ax.annotate(g, (px, py), xytext=(4, -11 if g == "fl" else 4), textcoords="offset points",
                                               fontsize=TEXT_PT, color=self.lines[obj].get_color())
                              for g, px, py in zip(labels, xs, m)]
            joined = xs < IID_X if x == "alpha" else np.ones(len(xs), bool)  # IID is never joined
            self.lines[obj].set_data(xs[joined], m[joined])
            self.lines[obj].set_linestyle("none" if x == "traffic" else "-")  # graphs apart: no line, no band
            self.lines[obj].set_label(f"{obj}: atlas" + (" (mean of its seeds)" if x == "traffic" else " (band: +-1 sd)"))
            if joined.sum() and x != "traffic":
                self.bands.append(self.ax.fill_between(xs[joined], (m - sd)[joined], (m + sd)[joined], lw=0,
                                                       color=self.lines[obj].get_color(), alpha=0.15, zorder=1))
            if (~joined).any():
                self._iid_mark(obj, (xs[~joined][0], m[~joined][0], sd[~joined][0]))
            self.drawn[obj] = len(xs)
            if obj == c.objective:
                if x == "alpha":
                    hit = np.isclose(xs, self._xpos(c.alpha))
                else:  # ring and FL may send the same bytes: the graph is found by its name
                    hit = labels == graph_label(c.topology, c.degree)
                if hit.any():
                    i = int(np.flatnonzero(hit)[0])
                    here_y = (xs[i], m[i])
                    self.note = f"atlas here ({c.objective}): {m[i]:.3f} +- {sd[i]:.3f} over {int(n[i])} seeds"
                else:
                    self.note = NOT_MEASURED
        if hidden:
            self.note = "the measurement is hidden: predict first"
        self.marker.set_data(*(([here_y[0]], [here_y[1]]) if here_y else ([], [])))
        self.update(self.results, x)

    def _iid_mark(self, obj: str, at) -> None:
        """IID's point with its +-1 sd bar, apart from the curve (errorbar artists, moved in place)."""
        line, caps, (bar,) = self.iid_marks[obj]
        if at is None:
            line.set_data([], [])
            bar.set_segments([])
            for cap in caps:
                cap.set_data([], [])
            return
        px, y, e = at
        line.set_data([px], [y])
        bar.set_segments([[(px, y - e), (px, y + e)]])
        for cap, cy in zip(caps, (y - e, y + e)):
            cap.set_data([px], [cy])

    # ----- the runs -----
    def update(self, results: list, x: str = "alpha") -> None:
        """One point per finished Run (its seeds' mean, a bar of +-1 sd), then the y range (curves,
        bands, IID bars and runs all inside) and the legend."""
        self.results = results
        self._axes_for(x)
        for r in results:
            self._artists(r.config["objective"])
        ys = [y for line in self.lines.values() for y in line.get_ydata()]
        ys += [v for band in self.bands for v in band.get_paths()[0].vertices[:, 1]] if self.bands else []
        ys += [v for (_, _, (bar,)) in self.iid_marks.values() for seg in bar.get_segments() for v in seg[:, 1]]
        key = "robustness_same_graph" if self.reference == "same-graph" else "robustness"
        for (obj, fam), sc in self.points.items():
            mine = [r for r in results if r.config["objective"] == obj
                    and (r.config["topology"] == "fl") == (fam == "FL")]
            xy = np.array([[self._run_x(r.config), r.mean(key) if key in r.runs[0].metrics else r.robustness]
                           for r in mine]).reshape(-1, 2)
            sd = np.array([r.sd(key) if key in r.runs[0].metrics else r.robustness_sd for r in mine])
            sc.set_offsets(xy)
            self.bars[obj, fam].set_segments([[(px, py - e), (px, py + e)] for (px, py), e in zip(xy, sd)])
            ys += list(xy[:, 1] - sd) + list(xy[:, 1] + sd)
        ys = [y for y in ys if np.isfinite(y)] or [0.6, 1.05]  # nothing on show: a range that hints nothing
        lo, hi = min(ys + [1.0]), max(ys + [1.0])
        pad = max(0.03, 0.08 * (hi - lo))
        self.ax.set_ylim(lo - pad, hi + pad)
        if self.x == "traffic":  # a run's traffic may lie beyond the graphs measured
            self._traffic_axis([*self.traffic_xs, *(self._run_x(r.config) for r in results)])
        self._legend()
        self.fit_ticks(self.ax)
        self.draw()

    def _legend(self) -> None:
        """Every curve, star and kind of run on show: above the plot, in as many rows as needed."""
        used = [ln for o, ln in self.lines.items() if len(ln.get_xdata()) or len(self.iid_marks[o][0].get_xdata())]
        used += [sc for sc in self.points.values() if len(sc.get_offsets())]
        used += [self.marker] if len(self.marker.get_xdata()) else []
        key = tuple(a.get_label() for a in used)
        if key == self._legend_key:
            return
        self._legend_key = key
        old = self.ax.get_legend()
        if old is not None:
            old.remove()
        if used:
            self.ax.legend(handles=used, fontsize=TEXT_PT, loc="lower left", bbox_to_anchor=(0, 1.01, 1, 0),
                           mode="expand", ncols=2, frameon=False, borderaxespad=0, handletextpad=0.4)
        self.fit()

    def describe(self) -> str:
        """The chart in words (screen readers, tests): which atlas curves it draws, the x ticks."""
        curves = ", ".join(f"{o} ({n} points)" for o, n in self.drawn.items() if n) or "none"
        ticks = " | ".join(t.get_text().replace("\n", " ") for t in self.ax.get_xticklabels())
        return f"atlas curves: {curves}; x axis: {ticks}; {self.note}"
