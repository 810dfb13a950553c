"""The explorer GUI: a VBox that links controls to an `ExplorerModel` and watches its traits.

All logic lives in `model.py`; this file only builds widgets, copies control values into the
model, and turns trait changes into widget-property changes (also on the worker thread, which is
why nothing here prints or displays). A control is written only when its value differs, so
nothing echoes back.
"""
from __future__ import annotations

import html
from typing import Any

import ipywidgets as W

from dssl_lite.presets import PRESETS
from dssl_lite.presets import preset as make_preset
from dssl_lite import workers
from dssl_lite.data import load
from dssl_lite.registry import DATASETS, OBJECTIVES, TOPOLOGIES

from .features_panel import FeaturePanel
from .model import ExplorerModel
from .paper import html_block as paper_block
from .points import describe
from .views import GraphView, LabelView, LossView, RobustnessView, SamplesView

FIELDS = ("alpha", "topology", "degree", "participation", "objective", "clients", "rounds", "seed")
HELP = {
    "alpha": "Dirichlet label skew. Small alpha: each client sees few classes (0.01: about one); "
             "large: near IID.",
    "topology": "fl: a server averages everyone. ring/regular/erdos_renyi/complete: neighbours "
                "gossip (DecL). none: no communication.",
    "degree": "Neighbours per client (regular, erdos_renyi). More = faster mixing.",
    "participation": "FL: the share of clients sampled each round (the paper samples 5 of 100).",
    "clients": "Number of clients K; the data is split among them.",
    "rounds": "Communication rounds (local steps, then averaging or gossip).",
    "seed": "The first seed; Run trains this seed and the next ones (same seed, same numbers).",
    "seeds": "Seeds per Run: each point is their mean, its bar their spread (the noise).",
    "preset": "Load a named setting (sets every control); Reset returns to it.",
    "compare": "Objectives whose measured curves (the atlas) the robustness chart overlays.",
    "reference": "Robustness = this run's accuracy divided by the accuracy of FL trained on IID data with "
                 "the same seed and model (one scale for every graph), or of the same graph "
                 "trained on IID data (each graph against itself). The choice can decide finding 2.",
}
COMPARE = ("mim", "cl", "mar", "simclr")
DEFINITIONS = (
    "<b>heterogeneity</b>: how far clients' label mixes are from the whole data's (0 = IID, 1 = "
    "disjoint classes) · <b>spectral gap</b>: how fast gossip mixes models (1 = one step averages "
    "everyone, near 0 = slow) · <b>robustness</b>: accuracy of this run divided by the accuracy "
    "of the same run on IID data (1 = nothing lost). CL may reach a higher absolute accuracy than "
    "MIM and still be less robust.")
PREDICT = ("<b>Predict first.</b> Before your first run, write down what you expect: at alpha = 0.01 "
           "(about one class per client), will robustness drop below 1? Which objective loses "
           "less, MIM or CL? Does a denser graph help?")


def _row(control: W.Widget, help_text: str, error: W.HTML) -> W.VBox:
    """A control, its one-line explanation beside it, and its inline error underneath."""
    tip = W.HTML(f"<span style='color:#555;font-size:90%'>{html.escape(help_text)}</span>",
                 layout=W.Layout(flex="1 1 220px", min_width="0"))
    control.layout.flex = "0 1 auto"  # may shrink (a box of several controls wraps) on a narrow page
    control.layout.min_width = "0"
    return W.VBox([W.HBox([control, tip], layout=W.Layout(flex_flow="row wrap", align_items="center")),
                   error])


class Explorer(W.VBox):
    """Controls on top, four live charts, a status readout, results and the feature panel.

    Example:
        >>> ex = build_explorer("tiny"); ex           # in a notebook cell
        >>> ex.controls["alpha"].value = 0.05        # cheap views update, no training
        >>> ex.run(); ex.wait(60); ex.results[-1].robustness
    """

    def __init__(self, model: ExplorerModel, backend: str = "auto"):
        self.model = model
        cfg = model.config
        style, wide = {"description_width": "80px"}, W.Layout(width="320px")
        slider = dict(continuous_update=False, style=style, layout=wide)
        self.controls: dict[str, W.Widget] = {
            "alpha": W.FloatLogSlider(value=cfg.alpha or 0.1, base=10, min=-2, max=2, step=0.1,
                                      description="alpha", readout_format=".3g", **slider),
            "topology": W.Dropdown(options=list(TOPOLOGIES), value=cfg.topology, description="topology",
                                   style=style, layout=wide),
            "degree": W.IntSlider(value=cfg.degree, min=1, max=31, description="degree", **slider),
            "participation": W.FloatSlider(value=cfg.participation, min=0.05, max=1.0, step=0.05,
                                           description="sampled", readout_format=".2f", **slider),
            "objective": W.Dropdown(options=list(OBJECTIVES), value=cfg.objective,
                                    description="objective", style=style, layout=wide),
            "clients": W.IntSlider(value=cfg.clients, min=2, max=64, description="clients", **slider),
            "rounds": W.IntSlider(value=cfg.rounds, min=1, max=100, description="rounds", **slider),
            "seed": W.BoundedIntText(value=cfg.seed, min=0, max=2**31 - 1, description="seed",
                                     style=style, layout=wide),
        }
        self.seeds = W.IntSlider(value=model.seeds, min=1, max=5, description="seeds", **slider)
        self.iid = W.Checkbox(value=cfg.alpha is None, description="IID (no skew)", indent=False,
                              layout=W.Layout(width="auto"))
        self.preset = W.Dropdown(options=list(PRESETS) + ["custom"],
                                 value="custom" if model.modified else model.preset_name,
                                 description="preset", style=style, layout=wide)
        self.errors = {f: W.HTML() for f in FIELDS}
        self.general_error = W.HTML()

        # text-only buttons: icons would come from a web font the page may not reach offline
        self.run_button = W.Button(description="Run", button_style="success")
        self.stop_button = W.Button(description="Stop", button_style="warning")
        self.reset_button = W.Button(description="Reset")
        self.pin_button = W.Button(description="Pin this run")
        self.copy_button = W.Button(description="Copy config")
        for name in ("run", "stop", "reset", "pin", "copy"):  # stable hooks for browser tests
            getattr(self, f"{name}_button").add_class(f"dssl-{name}")
        self.auto_run = W.Checkbox(value=False, description="run on every change", indent=False,
                                   layout=W.Layout(width="auto"))
        self.x_axis = W.ToggleButtons(options=[("alpha", "alpha"), ("graphs", "degree")], value="alpha",
                                      description="x axis", style={"button_width": "70px"})
        self.compare = {o: W.Checkbox(value=o in model.compare, description=o, indent=False,
                                      layout=W.Layout(width="auto")) for o in COMPARE}
        for o, box in self.compare.items():
            box.add_class(f"dssl-compare-{o}")
        self.reference = W.ToggleButtons(options=[("FL on IID data (the paper)", "fl-iid"),
                                                  ("same graph on IID data", "same-graph")],
                                         value=cfg.reference, description="relative to",
                                         style={"button_width": "190px", "description_width": "80px"})
        self.paper = W.HTML(layout=W.Layout(width="99%"))
        self.estimate = W.HTML()
        self.chart_text = W.HTML()  # the charts in words, under them (screen readers, tests)
        self.yaml = W.Textarea(layout=W.Layout(width="99%", height="0px", display="none"))
        self.status = W.HTML("idle · no runs yet")
        self.status.add_class("dssl-status")
        self.progress = W.FloatProgress(value=0, min=0, max=1, description="", bar_style="info",
                                        layout=W.Layout(width="320px", visibility="hidden"))
        self.progress.add_class("dssl-progress")
        self.progress_text = W.HTML(layout=W.Layout(flex="1 1 220px", min_width="0"))
        self.notice = W.HTML()
        self.comparison = W.HTML()
        self.objective_help = W.HTML(layout=W.Layout(flex="1 1 220px", min_width="0"))
        self.readout = W.HTML()  # the cheap views' numbers, as text (screen readers, tests)
        self.table = W.HTML(layout=W.Layout(max_width="98%", overflow="auto"))
        self.prediction = W.Textarea(placeholder="your prediction", layout=W.Layout(width="99%", height="48px"))
        self.predict_box = W.VBox([W.HTML(PREDICT), self.prediction])

        self.views = {"labels": LabelView(backend=backend), "samples": SamplesView(backend=backend),
                      "graph": GraphView(backend=backend), "loss": LossView(backend=backend),
                      "robustness": RobustnessView(backend=backend)}
        self.features = FeaturePanel(model)

        alpha_row = W.HBox([self.controls["alpha"], self.iid], layout=W.Layout(flex_flow="row wrap"))
        rows = [_row(alpha_row, HELP["alpha"], self.errors["alpha"])]
        for f in FIELDS[1:]:
            rows.append(_row(self.controls[f], HELP[f], self.errors[f]) if f != "objective" else
                        W.VBox([W.HBox([self.controls[f], self.objective_help],
                                       layout=W.Layout(flex_flow="row wrap", align_items="center")),
                                self.errors[f]]))
        rows += [_row(self.seeds, HELP["seeds"], W.HTML()), _row(self.preset, HELP["preset"], W.HTML())]
        rows += [_row(W.HBox(list(self.compare.values()), layout=W.Layout(flex_flow="row wrap")),
                      HELP["compare"], W.HTML()),
                 _row(self.reference, HELP["reference"], W.HTML())]
        wrap = W.Layout(flex_flow="row wrap", width="100%")
        buttons = W.HBox([self.run_button, self.stop_button, self.reset_button, self.pin_button,
                          self.copy_button, self.auto_run, self.estimate], layout=wrap)
        v = {k: view.widget for k, view in self.views.items()}
        big = W.HBox([v["robustness"], v["loss"]], layout=wrap)
        small = W.HBox([v["labels"], v["samples"], v["graph"]], layout=wrap)
        self.header = W.HTML()
        super().__init__(
            [self.header, self.predict_box, *rows, self.notice, self.general_error, buttons, self.yaml,
             W.HBox([self.progress, self.progress_text], layout=wrap), self.status, self.comparison,
             self.paper, self.x_axis, big, self.chart_text, W.HTML(f"<span style='font-size:90%'>{DEFINITIONS}</span>"),
             self.readout, small, self.table, self.features],
            layout=W.Layout(width="100%", max_width="1400px", overflow="hidden"))
        self.add_class("dssl-explorer")
        self._syncing = False
        self._wire()
        self._on_setting({"new": model.setting})

    # ----- the contract -----
    @property
    def results(self) -> list:
        return self.model.results

    def run(self) -> bool:
        return self.model.run()

    def stop(self) -> None:
        self.model.stop()

    def wait(self, timeout: float | None = None) -> bool:
        return self.model.wait(timeout)

    def close(self) -> None:
        """Stop the worker thread, free the trained models, then close the widgets."""
        self.model.close()
        super().close()

    # ----- wiring -----
    def _wire(self) -> None:
        for name, ctl in self.controls.items():
            ctl.observe(lambda ch, name=name: self._push(name), names="value")
        self.iid.observe(lambda ch: self._push("alpha"), names="value")
        self.seeds.observe(self._on_seeds, names="value")
        self.preset.observe(self._on_preset, names="value")
        self.run_button.on_click(lambda b: self.run())
        self.stop_button.on_click(lambda b: self.stop())
        self.reset_button.on_click(lambda b: self.model.reset())
        self.pin_button.on_click(lambda b: self.model.pin())
        self.copy_button.on_click(lambda b: self._show_yaml())
        self.auto_run.observe(lambda ch: setattr(self.model, "auto_run", ch["new"]), names="value")
        self.x_axis.observe(lambda ch: self._show_atlas(), names="value")
        for o, box in self.compare.items():
            box.observe(lambda ch: setattr(self.model, "compare", [o for o, b in self.compare.items() if b.value]),
                        names="value")
        self.reference.observe(lambda ch: self._syncing or self.model.set(reference=ch["new"]), names="value")
        m = self.model
        m.watch(self._on_setting, "setting")
        m.watch(self._on_error, "error")
        m.watch(self._on_status, "status")
        m.watch(self._on_live, "live")
        m.watch(self._on_progress, "progress")
        m.watch(self._on_results, "results")
        m.watch(lambda ch: self._show_error(ch["new"]), "failure")
        m.watch(lambda ch: self.views["loss"].pin(ch["new"]), "pinned")
        m.watch(self._on_pending, "pending")
        m.watch(lambda ch: self._show_atlas(), "compare")

    def _value(self, name: str) -> Any:
        if name == "alpha":
            return None if self.iid.value else float(self.controls["alpha"].value)
        return self.controls[name].value

    def _push(self, name: str) -> None:
        """A control moved: hand the model the new value (cheap views; a run is not disturbed)."""
        if self._syncing:
            return
        self.controls["alpha"].disabled = self.iid.value
        self.model.set(**{name: self._value(name)})

    def _on_seeds(self, change) -> None:
        self.model.seeds = int(change["new"])
        self.model.set()  # the minimum client size must suit every seed

    def _on_preset(self, change) -> None:
        if self._syncing or change["new"] == "custom":
            return
        self.model.load_preset(change["new"])

    def _pull(self) -> None:
        """Copy the model's draft into the controls that differ, without echoing back."""
        def put(ctl, value):
            if ctl.value != value:
                ctl.value = value

        self._syncing = True
        try:
            vals = self.model.values
            put(self.iid, vals["alpha"] is None)
            self.controls["alpha"].disabled = self.iid.value
            if vals["alpha"] is not None:
                put(self.controls["alpha"], vals["alpha"])
            for f in FIELDS[1:]:
                put(self.controls[f], vals[f])
            put(self.reference, vals["reference"])
            put(self.preset, "custom" if self.model.modified else self.model.preset_name)
        finally:
            self._syncing = False

    # ----- trait changes -> widget properties (may run on the worker thread) -----
    def _on_setting(self, change) -> None:
        m, payload = self.model, change["new"]
        self._pull()
        c = payload.config
        self.controls["degree"].disabled = not c.reads("degree")
        self.controls["participation"].disabled = not c.is_federated
        self.run_button.disabled = False
        self.views["labels"].update(payload)
        self.views["samples"].update(payload, load(c.dataset, c.image_size).train_x.numpy())
        self.views["graph"].update(payload)
        self._show_atlas()
        self.paper.value = paper_block(c)
        self.estimate.value = self._estimate(c)
        self.header.value = self._header(c)
        self.objective_help.value = (f"<span style='color:#555;font-size:90%'>"
                                     f"{html.escape(OBJECTIVES.get(c.objective).help)}</span>")
        self.notice.value = (f"<span class='dssl-notice' style='color:#8a6d00'>&#9432; "
                             f"{html.escape(m.notice)}</span>") if m.notice else ""
        self.readout.value = (
            f"<span class='dssl-readout'>{c.clients} clients, alpha {'IID' if c.iid else f'{c.alpha:.3g}'}: "
            f"heterogeneity {payload.heterogeneity:.3f} · {c.topology}: average degree "
            f"{payload.average_degree:.1f}, spectral gap {payload.spectral_gap:.3f} · min client "
            f"size {c.min_client_size}</span>")

    def _on_error(self, change) -> None:
        self._show_error(change["new"])
        if change["new"] is not None:  # the charts still show the last valid setting: say so
            self.run_button.disabled = True
            self.readout.value = ("<span class='dssl-readout' style='color:#b00020'>This setting "
                                  "cannot be run (see the message above); the charts show the last "
                                  "valid one. Run is disabled until the controls describe a valid "
                                  "setting.</span>")

    def _on_status(self, change) -> None:
        m, status, att = self.model, change["new"], self.model.attempt
        if status == "running":
            self._show_error(None)
            self.comparison.value = ""  # the previous run's verdict is not this run's
            self.views["loss"].start(describe(att.config.as_dict()), att.config.clients)
            self.status.value = f"<b>running</b> {html.escape(describe(att.config.as_dict()))}"
            self.progress.value, self.progress.layout.visibility = 0, "visible"
            self.progress.bar_style = "info"
        elif status == "finished":
            self.status.value = self._summary(m.results[-1])
            self.comparison.value = f"<span class='dssl-comparison'>{html.escape(m.comparison())}</span>"
            self.progress.value, self.progress.bar_style = 1, "success"
            self.progress_text.value = ""
            if self.prediction.value.strip():
                self.predict_box.children = (W.HTML(
                    f"You predicted: <i>{html.escape(self.prediction.value)}</i>. Compare with the "
                    "robustness chart."),)
        elif status == "stopped":
            self.progress.layout.visibility, self.progress_text.value = "hidden", ""
            self.status.value = (f"stopped after {att.rounds['non_iid']} non-IID / "
                                 f"{att.rounds['iid']} IID rounds · {len(m.results)} run(s) finished")
        elif status == "failed":
            self.progress.bar_style, self.progress_text.value = "danger", ""
            self.status.value = f"run failed · {len(m.results)} run(s) finished"
        elif status == "idle" and not m.results:
            self.status.value = "idle · no runs yet"
            self.comparison.value = ""

    def _on_progress(self, change) -> None:
        p, att = change["new"], self.model.attempt
        if p is None or att is None:
            return
        self.progress.value = p["fraction"]
        eta = "" if p["eta"] is None else f", about {p['eta']:.0f} s left"
        phase = ("training non-IID runs and IID baselines side by side" if att.total >
                 att.config.rounds * len(att.seeds) else "training (IID baselines cached)")
        self.progress_text.value = (f"<span class='dssl-progress-text'>{phase}: {p['done']} of "
                                    f"{p['total']} rounds ({len(att.seeds)} seeds), "
                                    f"{p['seconds']:.0f} s{eta}</span>")
        if p["done"] == p["total"]:
            self.progress_text.value = ("<span class='dssl-progress-text'>probing the encoders "
                                        "(kNN / linear on frozen features)...</span>")

    def _on_live(self, change) -> None:
        self.views["loss"].show(change["new"])
        self._describe()

    def _on_results(self, change) -> None:
        self.views["robustness"].update(change["new"], self.x_axis.value)
        self.table.value = self._table() if change["new"] else ""
        self.estimate.value = self._estimate(self.model.config)
        self._describe()

    def _show_atlas(self) -> None:
        objectives = list(dict.fromkeys([*self.model.compare, self.model.config.objective]))
        self.views["robustness"].show_atlas(self.model.setting, self.x_axis.value, objectives)
        self._describe()

    def _describe(self) -> None:
        r, l = self.views["robustness"].describe(), self.views["loss"].describe()
        self.chart_text.value = (f"<div class='dssl-chart-text' style='font-size:85%;color:#444'>"
                                 f"<span class='dssl-robustness-text'>Robustness chart: {html.escape(r)}</span><br>"
                                 f"<span class='dssl-loss-text'>Loss chart: {html.escape(l)}</span></div>")

    def _estimate(self, cfg) -> str:
        """Before Run: how long it will take here, from measured seconds (`bench.estimate`)."""
        from dssl_lite.bench import estimate

        secs = estimate(cfg, self.model.seeds)
        if secs is None:
            return ""
        text = f"about {secs:.0f} s for {self.model.seeds} seed{'s' if self.model.seeds > 1 else ''} on this machine"
        if secs > 30:
            text += "; the atlas (the lines on the chart) already answers for measured settings"
        return f"<span class='dssl-estimate' style='color:#555;font-size:90%'>{html.escape(text)}</span>"

    def _on_pending(self, change) -> None:
        self.run_button.description = "Stop and run this" if change["new"] else "Run"

    def _show_error(self, err) -> None:
        for box in [*self.errors.values(), self.general_error]:
            box.value = ""
        if err is None:
            return
        field, message = err
        box = self.errors.get(field, self.general_error)
        box.value = f"<span class='dssl-error' style='color:#b00020'>&#9888; {html.escape(message)}</span>"

    @staticmethod
    def _header(c) -> str:
        model = f"{c.model} (width {c.width}, depth {c.depth}, patch {c.patch_size})"
        return (f"<div class='dssl-header' style='font-size:95%'><b>Data</b> {c.dataset}: "
                f"{html.escape(DATASETS.get(c.dataset).help)} · <b>model</b> {model} · "
                f"{c.rounds} rounds x {c.local_steps} local steps · {c.probe} probe</div>")

    def _summary(self, res) -> str:
        spread = f" +- {res.robustness_sd:.3f}" if len(res.runs) > 1 else ""
        return (f"<span class='dssl-status'>done · <b>{len(self.results)}</b> setting(s) finished · last "
                f"robustness <b>{res.robustness:.3f}{spread}</b> over {len(res.runs)} seed(s) "
                f"(accuracy {res.accuracy:.3f} / IID {res.iid_accuracy:.3f}) · {res.seconds:.1f} s</span>")

    def _table(self) -> str:
        """The finished runs; DecL shows its averaged model's accuracy beside the local models' mean."""
        sd = lambda r, k: f" +- {r.sd(k):.3f}" if len(r.runs) > 1 else ""
        cell = lambda r, k: f"{r.mean(k):.3f}" if k in r.runs[0].metrics else "-"

        def row(i, r):
            return (f"<tr><td>{i + 1}</td><td>{html.escape(describe(r.config))}</td><td>{len(r.runs)}</td>"
                    f"<td>{r.accuracy:.3f}</td><td>{cell(r, 'accuracy_local_mean')}</td>"
                    f"<td>{cell(r, 'fl_iid_accuracy')}</td><td>{cell(r, 'same_graph_iid_accuracy')}</td>"
                    f"<td><b>{r.robustness:.3f}</b>{sd(r, 'robustness')}</td></tr>")

        rows = "".join(row(i, r) for i, r in enumerate(self.results[-10:]))
        return ("<div style='overflow-x:auto;max-width:100%'><table class='dssl-results' style='font-size:90%'>"
                "<tr><th>#</th><th>setting</th><th>seeds</th><th>accuracy (DecL: averaged model)</th>"
                "<th>DecL: mean of the local models</th><th>FL on IID data</th><th>same graph on IID data</th>"
                f"<th>robustness</th></tr>{rows}</table></div>")

    def _show_yaml(self) -> None:
        self.yaml.value = self.model.config_yaml()
        self.yaml.layout.display, self.yaml.layout.height = "block", "220px"


def build_explorer(preset: str = "live", backend: str = "auto", seeds: int = 3, **overrides: Any) -> Explorer:
    """The explorer for a named preset (plus config overrides), ready to display; every Run
    trains `seeds` seeds.

    Example:
        >>> from dssl_widgets import build_explorer
        >>> build_explorer("live")
    """
    cfg = make_preset(preset, **overrides)
    model = ExplorerModel(cfg, preset, modified=bool(overrides))
    model.seeds = seeds
    workers.start_in_background([cfg])  # the workers up and the step compiled before the first Run
    return Explorer(model, backend=backend)
