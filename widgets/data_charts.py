"""The three charts of the data and the graph, before any training: who holds which classes, what
their images look like, who talks to whom. Each redraws from a `Setting` in milliseconds."""
from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.collections import LineCollection

from dssl_lite.registry import TOPOLOGIES

from .charts import TEXT_PT, TITLE_PT, Chart

CLASS_COLOURS = matplotlib.colormaps["tab10"]


class LabelChart(Chart):
    """Clients x classes heatmap: the share of each client's data in each class."""

    def __init__(self, **kw):
        super().__init__(size_px=(380, 300), **kw)
        self.ax = self.fig.add_subplot()
        self.im = self.ax.imshow(np.zeros((2, 2)), aspect="auto", cmap="viridis", vmin=0, vmax=1,
                                 interpolation="nearest")
        bar = self.fig.colorbar(self.im, ax=self.ax, ticks=[0, 0.5, 1])
        bar.set_label("share of a client's data", fontsize=TEXT_PT)
        bar.ax.tick_params(labelsize=TEXT_PT)
        self.ax.set_xlabel("class", fontsize=TEXT_PT)
        self.ax.set_ylabel("client", fontsize=TEXT_PT)
        self.ax.tick_params(labelsize=TEXT_PT)
        self._shape = None

    def update(self, s) -> None:
        share = s.histogram / np.maximum(s.histogram.sum(1, keepdims=True), 1)  # [K, C]
        k, c = share.shape
        self.im.set_data(share)
        self.ax.set_title(f"label skew: heterogeneity {s.heterogeneity:.2f}", fontsize=TITLE_PT)
        if share.shape != self._shape:  # new ticks only when K or C change (ticks are costly)
            self._shape = share.shape
            self.im.set_extent((-0.5, c - 0.5, k - 0.5, -0.5))
            self.ax.set_xticks(range(0, c, 1 if c <= 10 else max(1, c // 5)))
            self.ax.set_yticks(range(0, k, max(1, -(-k // 6))))
            self.fit()
        self.draw()


class GraphChart(Chart):
    """Who talks to whom. Nodes sit on a fixed circle (they never jump when the graph changes),
    coloured by each client's main class, sized by its data; FL adds the server in the middle.
    Edges take the graph's colour from the registry."""

    def __init__(self, **kw):
        super().__init__(size_px=(320, 300), **kw)
        self.ax = self.fig.add_axes((0.02, 0.14, 0.96, 0.7))
        self.ax.set_axis_off()
        self.ax.set_aspect("equal")
        self.ax.set_xlim(-1.15, 1.15)
        self.ax.set_ylim(-1.15, 1.15)
        self.edges = LineCollection([], colors="0.6", linewidths=1.0, zorder=1)
        self.ax.add_collection(self.edges)
        self.nodes = self.ax.scatter([], [], s=[], zorder=2, edgecolors="k", linewidths=0.5)
        self.server = self.ax.scatter([0], [0], s=160, marker="s", c="k", zorder=3)
        self.title = self.fig.text(0.5, 0.98, "", ha="center", va="top", fontsize=TITLE_PT)
        self.fig.text(0.5, 0.02, "colour: a client's main class\nsize: its data · square: the server",
                      ha="center", va="bottom", fontsize=TEXT_PT, color="0.3")

    @staticmethod
    def layout(k: int) -> np.ndarray:
        """Fixed positions `[K, 2]` on the unit circle (the same as networkx's circular_layout)."""
        import networkx as nx

        pos = nx.circular_layout(range(k))
        return np.array([pos[i] for i in range(k)])

    def update(self, s) -> None:
        k = len(s.sizes)
        pos = self.layout(k)
        fl = s.config.is_federated
        if fl:  # the server reaches everyone; draw the star, not the complete graph
            segs = [[(0.0, 0.0), tuple(p)] for p in pos]
        else:
            i, j = np.nonzero(np.triu(s.adjacency))
            segs = [[tuple(pos[a]), tuple(pos[b])] for a, b in zip(i, j)]
        self.edges.set_segments(segs)
        self.edges.set_color(TOPOLOGIES.colour(s.config.topology))
        self.nodes.set_offsets(pos)
        self.nodes.set_facecolor(CLASS_COLOURS(s.histogram.argmax(1) % 10))
        self.nodes.set_sizes(30 + 170 * s.sizes / s.sizes.max())
        self.server.set_visible(fl)
        self.title.set_text(f"{s.config.topology}: average degree {s.average_degree:.1f}\n"
                            f"spectral gap {s.spectral_gap:.3f}")
        self.draw()


class SamplesChart(Chart):
    """What each client holds: a few of its training images per client (rows), for the current
    split, so "non-IID" is something one can see."""

    def __init__(self, per_client: int = 10, max_clients: int = 10, **kw):
        super().__init__(size_px=(320, 300), **kw)
        self.per_client, self.max_clients = per_client, max_clients
        self.ax = self.fig.add_axes((0.04, 0.02, 0.92, 0.8))
        self.ax.set_axis_off()
        self.im = self.ax.imshow(np.zeros((2, 2)), cmap="gray", interpolation="nearest")
        self.title = self.fig.text(0.5, 0.98, "", ha="center", va="top", fontsize=TITLE_PT)

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
        self.title.set_text(f"what each client holds\na row per client{more}")
        self.draw()
