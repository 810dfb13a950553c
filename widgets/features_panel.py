"""On-demand panel: UMAP pictures of local vs global feature spaces, with CKA / MMD^2 in plain words.

`dssl_lite.features` is imported only when the button is pressed (umap-learn takes seconds to
import and compiles on first use); if the module is absent the button is disabled and says so.
The work runs on the explorer's worker thread, and the result reaches the page as widget
properties (a PNG shown at its own size, never stretched, and an HTML table), never through
`display`. A sentence puts the runs beside the paper's finding 4 and the atlas's five seeds.
"""
from __future__ import annotations

import html
import importlib.util
import io
import math

import ipywidgets as W

FEATURES_AVAILABLE = importlib.util.find_spec("dssl_lite.features") is not None
DPI = 90
NOTHING_YET = ("<p class='dssl-features-notice' style='color:#8a6d00;font-weight:bold'>&#9432; No run has "
               "finished yet: press <b>Run</b> above and let it finish (a few seconds at the tiny preset), "
               "then press this button again: it compares the clients' feature spaces of that run.</p>")


def words_table(frame) -> str:
    """The metrics as a table a class can read: no NaN, named in words."""
    head = ("<tr><th>run</th><th>model</th><th>its clients' classes vs all (label TV, 1 = disjoint)</th>"
            "<th>similarity to the global model's features (linear CKA, 1 = same)</th>"
            "<th>distance from them (MMD&sup2;, 0 = same)</th><th>kNN accuracy</th></tr>")
    fmt = lambda v, d=3: "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{d}f}"
    rows = []
    for r in frame.to_dict("records"):
        local = r["model"] == "local"
        who = f"client {int(r['client'])}" if local else f"the {r['model']} model (the reference)"
        rows.append(f"<tr><td>{html.escape(str(r['objective']))}</td><td>{who}</td><td>{fmt(r['tv'], 2)}</td>"
                    f"<td>{fmt(r['cka']) if local else 'reference'}</td><td>{fmt(r['mmd2'], 4) if local else 'reference'}</td>"
                    f"<td>{fmt(r['knn_acc'])}</td></tr>")
    return f"<table class='dssl-features-table' style='font-size:90%'>{head}{''.join(rows)}</table>"


def drift_sentence(frame) -> str:
    """These runs' mean CKA per objective beside finding 4's verdict (the findings registry's)."""
    from dssl_lite.findings import judgement

    local = frame[frame["model"] == "local"]
    per = local.groupby("objective")["cka"].mean().to_dict()
    mine = "; ".join(f"{o}: mean CKA {v:.3f}" for o, v in per.items())
    four = judgement(4)
    return (f"<p class='dssl-features-sentence'><b>Finding 4</b> (the paper: {html.escape(four.claim)}). "
            f"These runs, one seed each: {html.escape(mine)} (lower = the clients drifted further); a few "
            f"clients of one seed illustrate, they do not judge. The package's verdict "
            f"({html.escape(four.setting)}): {html.escape(four.statistic)} {html.escape(four.numbers)}: "
            f"<b>{html.escape(four.verdict)}</b>.</p>")


def figure(fs):
    """`features.plot_feature_spaces` with its class legend in rows of five: in one run's narrow
    column a single row of ten classes was cut at both ends."""
    from dssl_lite.features import plot_feature_spaces

    fig = plot_feature_spaces(fs)
    for old in list(fig.legends):
        handles, labels = old.legend_handles, [t.get_text() for t in old.get_texts()]
        title = old.get_title().get_text()
        old.remove()
        fig.legend(handles=handles, labels=labels, loc="outside lower center", ncols=min(5, len(labels)),
                   fontsize=8, frameon=False, handletextpad=0.1, title=title, title_fontsize=8)
    return fig


class FeaturePanel(W.VBox):
    """A button, a metrics table and a picture, for the last finished runs of `model`."""

    def __init__(self, model):
        self.model = model
        self.button = W.Button(
            description="Local vs global feature spaces (UMAP)" if FEATURES_AVAILABLE
            else "Feature spaces (needs dssl_lite.features)",
            disabled=not FEATURES_AVAILABLE, layout=W.Layout(width="auto"))
        self.button.add_class("dssl-features")
        self.table = W.HTML()
        self.image = W.Image(format="png", layout=W.Layout(max_width="100%", display="none"))
        self.image.add_class("dssl-features-image")
        self.button.on_click(lambda b: self.compute())
        super().__init__([self.button, self.table, self.image])

    def compute(self) -> None:
        """Queue the embedding of the last (up to two) finished runs on the worker thread."""
        sims = dict(self.model.simulators)
        if not sims:  # said where the eye is, in words, with what to do: not an empty panel
            self.image.layout.display = "none"
            self.table.value = NOTHING_YET
            return
        self.table.value = ("computing feature spaces (UMAP) ... the first time takes 30-60 s while "
                            "UMAP compiles; later ones a few seconds")

        def job(stop):
            from dssl_lite.features import feature_spaces

            fs = feature_spaces(sims)
            fig = figure(fs)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=DPI)
            width = int(round(fig.get_size_inches()[0] * DPI))
            self.image.value = buf.getvalue()
            self.image.layout.width = f"{width}px"  # its own pixels: never stretched, shrunk only to fit
            self.image.layout.display = "block"
            frame = fs.to_frame()
            self.table.value = drift_sentence(frame) + words_table(frame)

        self.model.call_in_worker(job)

    def clear(self) -> None:
        """As on a fresh page: no picture, no table."""
        self.image.layout.display = "none"
        self.image.value = b""
        self.table.value = ""
