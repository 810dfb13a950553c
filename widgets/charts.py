"""What every chart of the explorer shares: a figure made once, a widget that shows it, text sizes
readable on a projector, and margins fitted to the labels.

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
from matplotlib.figure import Figure

DPI = 80                    # figure pixels per inch: what the page shows, one CSS pixel each
TEXT_PT = 13                # 14.4 px: every word on a chart, readable from the back of a room
TITLE_PT = 14
MIN_TEXT_PX = 14


def has_ipympl() -> bool:
    """ipympl is importable and we run inside a kernel that can talk to its canvas widget."""
    try:
        import ipympl  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    return ip is not None and getattr(ip, "kernel", None) is not None


class Chart:
    """One figure plus the widget that shows it; `draw()` pushes the current artists out, `fit()`
    moves the margins so that every label fits (called when labels change, not on every draw)."""

    def __init__(self, size_px=(400, 300), backend: str = "auto"):
        self.backend = ("ipympl" if has_ipympl() else "image") if backend == "auto" else backend
        self.fig = Figure(figsize=(size_px[0] / DPI, size_px[1] / DPI), dpi=DPI)
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
        self.widget.add_class("dssl-chart")

    def fit(self) -> None:
        """Margins from the labels' extents (tight layout), so no label is clipped: costly, so
        only when a label or the ticks change, never per frame."""
        with self._lock:
            self.fig.tight_layout(pad=0.4)

    def fit_ticks(self, *axes) -> None:
        """`fit()` when the widest tick label of `axes` changed since the last call (data that
        grow from 0.9 to 0.95 need no new margins; from 1 to -0.125 they do)."""
        widths = tuple(max((len(t.get_text()) for t in (*ax.get_xticklabels(), *ax.get_yticklabels())), default=0)
                       for ax in axes)
        if widths != getattr(self, "_tick_widths", None):
            self._tick_widths = widths
            self.fit()

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

    def text_problems(self, min_px: float = MIN_TEXT_PX) -> list[str]:
        """`text_problems` of this chart, drawn under its lock: never beside a render in progress
        (a throttled render runs on a timer thread)."""
        with self._lock:
            return text_problems(self.fig, min_px)

    def _render(self) -> None:
        with self._lock:
            self._timer = None
            self._last = time.monotonic()
            buf = io.BytesIO()
            self.fig.savefig(buf, format="png")
        self.widget.value = buf.getvalue()


def text_problems(fig: Figure, min_px: float = MIN_TEXT_PX) -> list[str]:
    """Every word drawn on `fig` that the figure's edge cuts or that is smaller than `min_px`
    pixels, in words ([] when none): the check behind "no label clipped". It records what the
    renderer really draws, so hidden artists and ticks outside the view do not count."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if hasattr(fig.canvas, "get_renderer") else FigureCanvasAgg(fig)
    canvas.draw()
    renderer, drawn = canvas.get_renderer(), {}
    real = renderer.draw_text

    def spy(gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if mtext is not None and s.strip():
            drawn[id(mtext)] = mtext
        return real(gc, x, y, s, prop, angle, ismath=ismath, mtext=mtext)

    renderer.draw_text = spy
    try:
        fig.draw(renderer)
    finally:
        del renderer.draw_text
    box, out = fig.bbox, []
    for t in drawn.values():
        e = t.get_window_extent(renderer)
        if e.x0 < box.x0 - 1 or e.y0 < box.y0 - 1 or e.x1 > box.x1 + 1 or e.y1 > box.y1 + 1:
            out.append(f"{t.get_text()!r} clipped: {tuple(round(v) for v in e.extents)} outside "
                       f"{tuple(round(v) for v in box.extents)}")
        px = t.get_fontsize() * fig.dpi / 72
        if px < min_px - 0.05:
            out.append(f"{t.get_text()!r} is {px:.1f} px")
    return out
