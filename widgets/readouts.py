"""The explorer's words: the page's style, its header, the readout of a setting, a Run's summary
and results table, the time estimate and the definitions. Plain functions from values to HTML."""
from __future__ import annotations

import html

from dssl_lite.findings.render import DOCS_URL
from dssl_lite.registry import DATASETS

from .points import describe

# Sizes for a projector: every word on the page at 15 px or more, help and notes at 14 px.
CSS = """<style>
.dssl-explorer { font-size: 15px; --jp-widgets-font-size: 15px; --jp-widgets-inline-height: 30px;
                 --jp-widgets-inline-label-width: 92px; }
.dssl-explorer .widget-label, .dssl-explorer .widget-readout, .dssl-explorer select,
.dssl-explorer button, .dssl-explorer input { font-size: 15px; }
.dssl-explorer .dssl-help { color: #555; font-size: 14px; }
.dssl-explorer .dssl-error { color: #b00020; font-size: 15px; }
.dssl-explorer .dssl-notice { color: #8a6d00; font-size: 15px; }
.dssl-explorer .dssl-chart-note { font-size: 16px; }
.dssl-explorer table { font-size: 14px; }
</style>"""

DEFINITIONS = (
    "<b>heterogeneity</b>: how far the clients' label mixes are from the whole data's (0 = IID, 1 = disjoint "
    "classes) · <b>spectral gap</b>: how fast gossip mixes models (1 = one step averages everyone, near 0 = "
    "slow; it depends on the mixing rule, so the readout gives the data-size rule's beside notebook 02's "
    "Metropolis rule) · <b>robustness</b>: a run's accuracy divided by the accuracy of the same run on IID "
    "data (1 = nothing lost). CL may reach a higher accuracy than MIM and still be less robust. "
    "<b>Above 1?</b> Both accuracies are noisy: near IID their ratio scatters around 1, so a point a little "
    "above 1 means nothing was lost, not that skew helps. <b>A non-IID loss below the IID loss?</b> A client "
    "holding one class has an easier task (its images look alike), so its training loss is lower while its "
    "features are worse: loss is not accuracy.")

PREDICT = ("<b>Predict first.</b> Before your first run, write down what you expect: at alpha = 0.01 (about one "
           "class per client), will robustness drop below 1? Which objective loses less, MIM or CL? Does a "
           "denser graph help?")


def header(c) -> str:
    """The setting's data, model and schedule in one line, and where the page is explained (the
    published docs: a pip install has no docs folder)."""
    model = f"{c.model} (width {c.width}, depth {c.depth}, patch {c.patch_size})"
    return (f"<div class='dssl-header'><b>Data</b> {c.dataset}: {html.escape(DATASETS.get(c.dataset).help)} · "
            f"<b>model</b> {model} · {c.rounds} rounds x {c.local_steps} local steps · {c.probe} probe · "
            f"<a href='{DOCS_URL}widgets.md' target='_blank' rel='noopener'>how this page works</a></div>")


def readout(s) -> str:
    """The cheap charts' numbers as text (screen readers, tests); on a graph mixing by data size,
    the Metropolis gap beside its own, since notebook 02 mixes that way."""
    c = s.config
    alpha = "IID" if c.iid else f"{c.alpha:.3g}"
    gap = f"spectral gap {s.spectral_gap:.3f}"
    if not c.is_federated and c.mixing != "metropolis":
        gap += f" with {c.mixing} mixing (Metropolis weights, as notebook 02: {s.metropolis_gap:.3f})"
    return (f"<span class='dssl-readout'>{c.clients} clients, alpha {alpha}: heterogeneity {s.heterogeneity:.3f} · "
            f"{c.topology}: average degree {s.average_degree:.1f}, {gap} · min client size "
            f"{c.min_client_size}</span>")


INVALID = ("<span class='dssl-readout dssl-error'>This setting cannot be run (see the message above); the charts "
           "show the last valid one. Run is disabled until the controls describe a valid setting.</span>")


def estimate(secs, seeds: int) -> str:
    """Before Run: how long it should take here (`bench.estimate`, the model's `estimate`)."""
    if secs is None:
        return ""
    text = f"about {secs:.0f} s for {seeds} seed{'s' if seeds > 1 else ''} on this machine now"
    if secs > 30:
        text += "; the atlas (the lines on the chart) already answers for measured settings"
    return f"<span class='dssl-estimate dssl-help'>{html.escape(text)}</span>"


def progress(p: dict, att) -> str:
    """A Run's progress in words: rounds done of all seeds and baselines, time spent and left."""
    if p["done"] == p["total"]:
        return "<span class='dssl-progress-text'>probing the encoders (kNN / linear on frozen features)...</span>"
    eta = "" if p["eta"] is None else f", about {p['eta']:.0f} s left"
    phase = ("training non-IID runs and IID baselines side by side" if att.total >
             att.config.rounds * len(att.seeds) else "training (IID baselines cached)")
    return (f"<span class='dssl-progress-text'>{phase}: {p['done']} of {p['total']} rounds ({len(att.seeds)} "
            f"seeds), {p['seconds']:.0f} s{eta}</span>")


def summary(res, finished: int) -> str:
    spread = f" +- {res.robustness_sd:.3f}" if len(res.runs) > 1 else ""
    return (f"<span class='dssl-status'>done · <b>{finished}</b> setting(s) finished · last robustness "
            f"<b>{res.robustness:.3f}{spread}</b> over {len(res.runs)} seed(s) (accuracy {res.accuracy:.3f} / "
            f"IID {res.iid_accuracy:.3f}) · {res.seconds:.1f} s</span>")


def results_table(results: list) -> str:
    """The finished runs; DecL shows its averaged model's accuracy beside the local models' mean."""
    if not results:
        return ""
    sd = lambda r, k: f" +- {r.sd(k):.3f}" if len(r.runs) > 1 else ""
    cell = lambda r, k: f"{r.mean(k):.3f}" if k in r.runs[0].metrics else "-"
    rows = "".join(
        f"<tr><td>{i + 1}</td><td>{html.escape(describe(r.config))}</td><td>{len(r.runs)}</td>"
        f"<td>{r.accuracy:.3f}</td><td>{cell(r, 'accuracy_local_mean')}</td><td>{cell(r, 'fl_iid_accuracy')}</td>"
        f"<td>{cell(r, 'same_graph_iid_accuracy')}</td><td><b>{r.robustness:.3f}</b>{sd(r, 'robustness')}</td></tr>"
        for i, r in enumerate(results[-10:]))
    return ("<div style='overflow-x:auto;max-width:100%'><table class='dssl-results'>"
            "<tr><th>#</th><th>setting</th><th>seeds</th><th>accuracy (DecL: averaged model)</th>"
            "<th>DecL: mean of the local models</th><th>FL on IID data</th><th>same graph on IID data</th>"
            f"<th>robustness</th></tr>{rows}</table></div>")
