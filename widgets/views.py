"""The explorer's four charts. Each figure is made once; updates change artist data and redraw.

Two ways to show a figure: `ipympl` (a live canvas widget in JupyterLab/Voila, redrawn with
`draw_idle`) and `image` (an `ipywidgets.Image` holding a PNG, re-rendered on each draw) for
kernels without ipympl and for headless tests. Either way a redraw from the worker thread only
changes widget state, which is safe; nothing is printed or displayed.
"""
from __future__ import annotations

import io
import threading
import time

import ipywidgets as W
import matplotlib
import matplotlib.ticker
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

CLASS_COLORS = matplotlib.colormaps["tab10"]
OBJECTIVE_COLORS = {"mim": "tab:blue", "cl": "tab:orange", "mar": "tab:green", "simclr": "tab:red"}
FAMILY_MARKERS = {"FL": "o", "DecL": "^"}
IID_X = 1000.0  # where IID runs sit on the log alpha axis, labelled "IID"


def has_ipympl() -> bool:
    """ipympl is importable and we run inside a kernel that can talk to its canvas widget."""
    try:
        import ipympl  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None


class Panel:
    """One figure plus the widget that shows it; `draw()` pushes the current artists out."""

    def __init__(self, figsize=(4.0, 3.0), backend: str = "auto"):
        self.backend = ("ipympl" if has_ipympl() else "image") if backend == "auto" else backend
        # fixed margins, not constrained layout: 3-5x cheaper per draw and nothing shifts as data change
        self.fig = Figure(figsize=figsize, dpi=80)
        self.fig.subplots_adjust(left=0.17, right=0.96, bottom=0.16, top=0.9)
        self.draws = 0
        self.min_interval = 0.5        # image backend: seconds between PNG renders
        self._last, self._timer = -1e9, None
        self._lock = threading.Lock()  # one render at a time (worker thread vs. main thread)
        if self.backend == "ipympl":
            from ipympl.backend_nbagg import Canvas, FigureManager

            canvas = Canvas(self.fig)
            FigureManager(canvas, 0)  # not registered with pyplot: no duplicate output on show()
            canvas.header_visible = canvas.footer_visible = canvas.resizable = False
            canvas.toolbar_visible = False
            canvas.layout.width, canvas.layout.max_width = "auto", "100%"
            self.widget = canvas
        else:
            from matplotlib.backends.backend_agg import FigureCanvasAgg

            FigureCanvasAgg(self.fig)
            self.widget = W.Image(format="png", layout=W.Layout(max_width="100%", height="auto"))

    def draw(self) -> None:
        """ipympl: ask the browser to fetch a new frame. image: render a PNG now, or at most every
        `min_interval` seconds during a burst (a trailing render shows the last state)."""
        self.draws += 1
        if self.backend == "ipympl":
            self.fig.canvas.draw_idle()
            return
        with self._lock:
            wait = self.min_interval - (time.monotonic() - self._last)
            if wait > 0:
                if self._timer is None:
                    self._timer = threading.Timer(wait, self._render)
                    self._timer.daemon = True
                    self._timer.start()
                return
        self._render()

    def _render(self) -> None:
        with self._lock:
            self._timer = None
            self._last = time.monotonic()
            buf = io.BytesIO()
            self.fig.savefig(buf, format="png")
        self.widget.value = buf.getvalue()


class LabelView(Panel):
    """Clients x classes heatmap: the share of each client's data in each class."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.ax = self.fig.add_subplot()
        self.im = self.ax.imshow(np.zeros((2, 2)), aspect="auto", cmap="viridis", vmin=0, vmax=1,
                                 interpolation="nearest")
        self.fig.colorbar(self.im, ax=self.ax, label="share of client's data")
        self.ax.set_xlabel("class")
        self.ax.set_ylabel("client")
        self._shape = None

    def update(self, s) -> None:
        share = s.histogram / np.maximum(s.histogram.sum(1, keepdims=True), 1)  # [K, C]
        k, c = share.shape
        self.im.set_data(share)
        if share.shape != self._shape:  # new ticks only when K or C change (ticks are costly)
            self._shape = share.shape
            self.im.set_extent((-0.5, c - 0.5, k - 0.5, -0.5))
            self.ax.set_xticks(range(c))
            self.ax.set_yticks(range(0, k, max(1, k // 8)))
        self.ax.set_title(f"label skew: heterogeneity {s.heterogeneity:.2f}", fontsize=10)
        self.draw()


class GraphView(Panel):
    """Who talks to whom. Nodes sit on a fixed circle (they never jump when the graph changes),
    coloured by each client's dominant class, sized by its data; FL adds the server in the middle."""

    def __init__(self, **kw):
        super().__init__(figsize=(3.4, 3.0), **kw)
        self.ax = self.fig.add_subplot()
        self.ax.set_axis_off()
        self.ax.set_aspect("equal")
        self.ax.set_xlim(-1.25, 1.25)
        self.ax.set_ylim(-1.25, 1.25)
        self.edges = LineCollection([], colors="0.6", linewidths=0.8, zorder=1)
        self.ax.add_collection(self.edges)
        self.nodes = self.ax.scatter([], [], s=[], zorder=2, edgecolors="k", linewidths=0.5)
        self.server = self.ax.scatter([0], [0], s=160, marker="s", c="k", zorder=3)
        self.ax.text(0.0, -1.2, "colour = a client's main class\nsize = its data · square = the server",
                     ha="center", va="top", fontsize=7, color="0.3")

    @staticmethod
    def layout(k: int) -> np.ndarray:
        """Fixed positions `[K, 2]` on the unit circle (the same as networkx's circular_layout)."""
        import networkx as nx

        pos = nx.circular_layout(range(k))
        return np.array([pos[i] for i in range(k)])

    def update(self, s) -> None:
        k = len(s.sizes)
        pos = self.layout(k)
        fl = s.config.topology == "fl"
        if fl:  # the server reaches everyone; draw the star, not the complete graph
            segs = [[(0.0, 0.0), tuple(p)] for p in pos]
        else:
            i, j = np.nonzero(np.triu(s.adjacency))
            segs = [[tuple(pos[a]), tuple(pos[b])] for a, b in zip(i, j)]
        self.edges.set_segments(segs)
        self.nodes.set_offsets(pos)
        self.nodes.set_facecolor(CLASS_COLORS(s.histogram.argmax(1) % 10))
        self.nodes.set_sizes(30 + 170 * s.sizes / s.sizes.max())
        self.server.set_visible(fl)
        self.ax.set_title(f"{s.config.topology}: avg degree {s.average_degree:.1f}, "
                          f"spectral gap {s.spectral_gap:.2f}", fontsize=10)
        self.draw()


class LossView(Panel):
    """Live training loss per round as its change since round 1, so that down means learning for
    every objective, whatever the sign and scale of its loss (SimSiam's is a negative cosine, so
    a ratio to round 1 would climb as it learns): the non-IID mean over clients and seeds
    (solid), thin per-client lines of the first seed, the IID baseline (dashed, when it trains)
    and a pinned earlier run (grey ghost). No ticks until there is data."""

    def __init__(self, **kw):
        super().__init__(figsize=(4.6, 3.4), **kw)
        self.ax = self.fig.add_subplot()
        self.ax.set_xlabel("round")
        self.ax.set_ylabel("loss - loss in round 1 (down = learning)")
        self.ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        (self.ghost,) = self.ax.plot([], [], color="0.7", lw=2.5, label="_pinned")  # no legend until pinned
        (self.iid,) = self.ax.plot([], [], "--", color="tab:gray", lw=1.5, label="_iid")
        (self.main,) = self.ax.plot([], [], color="tab:blue", lw=2, label="non-IID (mean)")
        self.client_lines: list = []
        self.raw: list = []
        self.ax.set_title("loss (live)", fontsize=10)
        self._legend()
        self._empty(True)

    def _empty(self, empty: bool) -> None:
        """Before any data: no ticks that would mean nothing."""
        if empty:
            self.ax.set_xticks([])
            self.ax.set_yticks([])
        else:
            self.ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
            self.ax.yaxis.set_major_locator(matplotlib.ticker.AutoLocator())

    def _legend(self) -> None:
        shown = [ln for ln in (self.main, self.iid, self.ghost) if not ln.get_label().startswith("_")]
        self.ax.legend(handles=shown, fontsize=8, loc="upper right")

    def start(self, label: str, clients: int) -> None:
        for ln in self.client_lines:
            ln.remove()
        self.client_lines = [self.ax.plot([], [], color="tab:blue", lw=0.5, alpha=0.35)[0]
                             for _ in range(clients)]
        self.main.set_data([], [])
        self.iid.set_data([], [])
        self.iid.set_label("_iid")
        self.ax.set_title(label, fontsize=10)
        self._legend()
        self._empty(self.ghost.get_label().startswith("_"))
        self.draw()

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
            return "no run yet"
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
        self.draw()


class RobustnessView(Panel):
    """The robustness chart: the atlas's measured curves (mean and +-1 sd band over its seeds) of
    every objective ticked, one colour each, through the current setting, with a star at the
    slider position; then one point per Run on top in the same colours (mean over its seeds, bar
    +-1 sd), circle = FL, triangle = DecL. Along alpha (log axis, IID at the right) or along the
    graphs (ring to complete and FL, labelled with their average degree). The grey line at 1 means
    nothing was lost to non-IID data."""

    def __init__(self, **kw):
        super().__init__(figsize=(7.0, 4.0), **kw)  # 560 px wide: readable from the back of a room
        self.fig.subplots_adjust(left=0.1, right=0.98, bottom=0.2, top=0.9)
        self.ax = self.fig.add_subplot()
        self.ax.axhline(1.0, color="0.8", lw=1, zorder=0)
        self.points, self.bars, self.lines, self.bands = {}, {}, {}, []
        (self.marker,) = self.ax.plot([], [], marker="*", ms=15, color="gold", mec="k", lw=0, zorder=5,
                                      label="this setting (atlas)")
        self.atlas_note = self.ax.text(0.01, 0.98, "", transform=self.ax.transAxes, fontsize=8, color="0.25",
                                       va="top")
        self.results: list = []
        self.x, self.graphs, self.reference = "alpha", [], "fl-iid"
        self._axes_for("alpha")

    def _color(self, obj: str) -> str:
        return OBJECTIVE_COLORS.setdefault(obj, f"C{len(OBJECTIVE_COLORS) % 10}")

    def _artists(self, obj: str) -> None:
        if (obj, "FL") in self.points:
            return
        color = self._color(obj)
        for fam, marker in FAMILY_MARKERS.items():
            self.points[obj, fam] = self.ax.scatter(np.empty(0), np.empty(0), c=color, marker=marker, s=55,
                                                    edgecolors="k", linewidths=0.6, label=f"{obj} run ({fam})",
                                                    zorder=4)
            self.bars[obj, fam] = LineCollection([], colors=color, linewidths=1.8, zorder=3)
            self.ax.add_collection(self.bars[obj, fam])
        (self.lines[obj],) = self.ax.plot([], [], "-", color=color, lw=1.8, alpha=0.8, zorder=2,
                                         label=f"{obj} (atlas)")

    def _axes_for(self, x: str) -> None:
        self.x = x
        if x == "alpha":
            self.ax.set_xscale("log")
            self.ax.set_xlim(0.005, IID_X * 2)
            self.ax.set_xticks([0.01, 0.1, 1, 10, 100, IID_X], ["0.01", "0.1", "1", "10", "100", "IID"])
            self.ax.set_xlabel("alpha (small = more non-IID)")
        else:
            self.ax.set_xscale("linear")
            self.ax.set_xlabel("graph (its average degree): sparse to dense, and FL")

    def _graph_axis(self, curves: dict, setting) -> None:
        """Categorical positions, one per graph the atlas measured, ordered by average degree."""
        seen = {}
        for c in curves.values():
            for r in c.to_dict("records"):
                seen.setdefault(r["label"], r["x"])
        here = setting.config
        from dssl_lite.topologies import label

        seen.setdefault(label(here.topology, here.degree), setting.average_degree)
        order = sorted(seen, key=lambda g: (seen[g], g == "fl"))
        self.graphs = order
        self.ax.set_xlim(-0.5, len(order) - 0.5)
        self.ax.set_xticks(range(len(order)), [f"{g}\n({seen[g]:.1f})" for g in order], fontsize=8)

    def _xpos(self, value, graph: str = "") -> float:
        if self.x == "alpha":
            return IID_X if value is None or (isinstance(value, float) and np.isinf(value)) else value
        return float(self.graphs.index(graph)) if graph in self.graphs else np.nan

    def show_atlas(self, setting, x: str = "alpha", objectives=("mim", "cl")) -> None:
        """Draw the atlas curve of every objective in `objectives` through `setting` and a star
        at its slider position (cheap: no training), or say "not measured yet: press Run"."""
        from dssl_lite.topologies import label

        if x != self.x:
            self._axes_for(x)
        c = setting.config
        self.reference = c.reference
        for band in self.bands:
            band.remove()
        self.bands = []
        curves = {o: cur[x] for o, cur in setting.atlas.items() if x in cur and o in objectives}
        if x == "degree":
            self._graph_axis(curves, setting)
        for line in self.lines.values():
            line.set_data([], [])
        family = "FL" if c.topology == "fl" else "DecL"
        here_y, note = None, "not measured yet: press Run"
        for obj in objectives:
            self._artists(obj)
            cur = curves.get(obj)
            if cur is None or not len(cur):
                continue
            if x == "alpha":
                cur = cur[cur["family"] == family]
                xs = np.array([self._xpos(v) for v in cur["x"].astype(float)])
            else:
                xs = np.array([self._xpos(None, g) for g in cur["label"]])
            m, sd = cur["robustness_mean"].to_numpy(float), cur["robustness_sd"].to_numpy(float)
            order = np.argsort(xs)
            self.lines[obj].set_data(xs[order], m[order])
            self.bands.append(self.ax.fill_between(xs[order], (m - sd)[order], (m + sd)[order],
                                                   color=self._color(obj), alpha=0.15, lw=0, zorder=1))
            if obj == c.objective:
                here = self._xpos(c.alpha) if x == "alpha" else self._xpos(None, label(c.topology, c.degree))
                hit = np.isclose(xs, here)
                if hit.any():
                    i = int(np.flatnonzero(hit)[0])
                    here_y = (here, m[i])
                    note = (f"atlas here ({c.objective}): {m[i]:.3f} +- {sd[i]:.3f} over "
                            f"{int(cur['n'].to_numpy()[i])} seeds")
                else:
                    note = "this point is not measured yet: press Run"
        self.marker.set_data(*(([here_y[0]], [here_y[1]]) if here_y else ([], [])))
        self.atlas_note.set_text(note)
        self.drawn = {o: len(self.lines[o].get_xdata()) for o in objectives if o in self.lines}
        self.update(self.results, x)

    def describe(self) -> str:
        """The chart in words (screen readers, tests): which atlas curves it draws, the x ticks."""
        curves = ", ".join(f"{o} ({n} points)" for o, n in getattr(self, "drawn", {}).items() if n) or "none"
        ticks = " | ".join(t.get_text().replace("\n", " ") for t in self.ax.get_xticklabels())
        return f"atlas curves: {curves}; x axis: {ticks}; {self.atlas_note.get_text()}"

    def update(self, results: list, x: str = "alpha") -> None:
        from dssl_lite.topologies import label

        self.results = results
        if x != self.x:
            self._axes_for(x)
        for r in results:
            self._artists(r.config["objective"])
        ys = [y for line in self.lines.values() for y in line.get_ydata()]
        key = "robustness_same_graph" if self.reference == "same-graph" else "robustness"
        for (obj, fam), sc in self.points.items():
            mine = [r for r in results if r.config["objective"] == obj
                    and (r.config["topology"] == "fl") == (fam == "FL")]
            xy = np.array([[self._xpos(r.config["alpha"]) if x == "alpha" else
                            self._xpos(None, label(r.config["topology"], r.config["degree"])),
                            r.mean(key) if key in r.runs[0].metrics else r.robustness] for r in mine]).reshape(-1, 2)
            sd = np.array([r.sd(key) if key in r.runs[0].metrics else r.robustness_sd for r in mine])
            sc.set_offsets(xy)
            self.bars[obj, fam].set_segments([[(px, py - e), (px, py + e)] for (px, py), e in zip(xy, sd)])
            ys += list(xy[:, 1] - sd) + list(xy[:, 1] + sd)
        ys = [y for y in ys if np.isfinite(y)]
        lo, hi = min(ys + [1.0]), max(ys + [1.0])
        pad = max(0.05, 0.1 * (hi - lo))
        self.ax.set_ylim(lo - pad, hi + pad)
        ref = "the same graph on IID data" if self.reference == "same-graph" else "FL on IID data (the paper)"
        self.ax.set_ylabel(f"robustness = accuracy / accuracy of\n{ref}", fontsize=9)
        used = [ln for ln in self.lines.values() if len(ln.get_xdata())]
        used += [sc for sc in self.points.values() if len(sc.get_offsets())]
        used += [self.marker] if len(self.marker.get_xdata()) else []
        if used:
            self.ax.legend(handles=used, fontsize=7, loc="lower right", ncols=2)
        seeds = {len(getattr(r, "runs", [r])) for r in results}
        note = f"; your runs: {'/'.join(map(str, sorted(seeds)))} seeds each" if results else ""
        self.ax.set_title(f"robustness: the atlas (lines, bands = +-1 sd over seeds){note}", fontsize=9)
        self.draw()


class SamplesView(Panel):
    """What each client holds: a few of its training images per client (rows), for the current
    split, so "non-IID" is something one can see."""

    def __init__(self, per_client: int = 6, max_clients: int = 10, **kw):
        super().__init__(figsize=(3.4, 3.0), **kw)
        self.per_client, self.max_clients = per_client, max_clients
        self.ax = self.fig.add_subplot()
        self.ax.set_axis_off()
        self.im = self.ax.imshow(np.zeros((2, 2)), cmap="gray", interpolation="nearest")
        self.ax.set_title("what each client holds", fontsize=10)

    def update(self, s, images: np.ndarray) -> None:
        """`images`: the training images `[N, C, H, W]` the split indexes."""
        k = min(len(s.parts), self.max_clients)
        h, w = images.shape[-2:]
        grid = np.full((k * (h + 1), self.per_client * (w + 1)), np.nan)
        rng = np.random.default_rng(0)
        for i, part in enumerate(s.parts[:k]):
            pick = rng.choice(part, size=min(self.per_client, len(part)), replace=False)
            for j, idx in enumerate(pick):
                grid[i * (h + 1): i * (h + 1) + h, j * (w + 1): j * (w + 1) + w] = images[idx].mean(0)
        self.im.set_data(grid)
        self.im.set_extent((0, grid.shape[1], grid.shape[0], 0))
        finite = grid[np.isfinite(grid)]
        self.im.set_clim(finite.min(), finite.max())
        more = f" (first {k} of {len(s.parts)})" if len(s.parts) > k else ""
        self.ax.set_title(f"what each client holds: a row per client{more}", fontsize=9)
        self.draw()
