"""On-demand panel: UMAP pictures of local vs global feature spaces, with CKA / MMD^2 numbers.

`dssl_lite.features` is imported only when the button is pressed (umap-learn takes seconds to
import and compiles on first use); if the module is absent the button is disabled and says so.
The work runs on the explorer's worker thread, and the result reaches the page as widget
properties (a PNG and an HTML table), never through `display`.
"""
from __future__ import annotations

import importlib.util
import io

import ipywidgets as W

FEATURES_AVAILABLE = importlib.util.find_spec("dssl_lite.features") is not None


class FeaturePanel(W.VBox):
    """A button, a metrics table and a picture, for the last finished runs of `model`."""

    def __init__(self, model):
        self.model = model
        self.button = W.Button(
            description="Local vs global feature spaces (UMAP)" if FEATURES_AVAILABLE
            else "Feature spaces (needs dssl_lite.features)",
            disabled=not FEATURES_AVAILABLE, layout=W.Layout(width="auto"))
        self.table = W.HTML()
        self.image = W.Image(format="png", layout=W.Layout(max_width="100%", display="none"))
        self.button.on_click(lambda b: self.compute())
        super().__init__([self.button, self.table, self.image])

    def compute(self) -> None:
        """Queue the embedding of the last (up to two) finished runs on the worker thread."""
        sims = dict(self.model.simulators)
        if not sims:
            self.table.value = "Finish a run first; the panel compares its clients' models."
            return
        self.table.value = ("computing feature spaces (UMAP) ... the first time takes 30-60 s while "
                            "UMAP compiles; later ones a few seconds")

        def job(stop):
            from dssl_lite.features import feature_spaces, plot_feature_spaces

            fs = feature_spaces(sims)
            buf = io.BytesIO()
            plot_feature_spaces(fs).savefig(buf, format="png", dpi=72)
            self.image.value = buf.getvalue()
            self.image.layout.display = "block"
            frame = fs.to_frame().rename(columns={"objective": "run"}).round(3)
            self.table.value = ("<b>Local vs global</b> (CKA: 1 = same geometry; MMD&sup2; and kNN "
                                "gap: 0 = same)" + frame.to_html())

        self.model.call_in_worker(job)
