"""The full explorer: a VBox that links every control to an `ExplorerModel` and watches its traits.

Laid out for a projector: each control sits beside the chart it moves, so at 1280x720 and
1920x1080 a class sees cause and effect together. The first row is the robustness chart with the
controls that move it (alpha, objective, graph and its fields, the objectives drawn, the axis,
"relative to", Run); the second the data's charts (label skew, the graph) with the controls that
shape the data (clients, rounds, seeds, preset); then the live loss and each client's images;
then the findings, the results and the feature panel. All logic lives in `model.py`; this file
builds widgets and turns trait changes into widget-property changes (also on the worker thread,
which is why nothing here prints or displays).
"""
from __future__ import annotations

import html
from typing import Any

import ipywidgets as W

from dssl_lite.data import load

from . import readouts
from .controls import Controls
from .data_charts import GraphChart, LabelChart, SamplesChart
from .features_panel import FeaturePanel
from .loss_chart import LossChart
from .model import ExplorerModel
from .paper import html_block as paper_block
from .points import describe
from .robustness_chart import RobustnessChart
from .run_panel import RunPanel


CHART_COLUMN = "700px"  # the big chart's width: with a 360 px column, 1,072 px fit JupyterLab's page at 1280 px


def column(children: list, width: str = "360px") -> W.VBox:
    box = W.VBox(children, layout=W.Layout(flex=f"0 0 {width}", min_width="0", max_width="100%"))
    box.add_class("dssl-column")
    return box


def row(children: list) -> W.HBox:
    return W.HBox(children, layout=W.Layout(flex_flow="row wrap", align_items="flex-start", width="100%",
                                            grid_gap="12px"))


class Explorer(W.VBox):
    """Every control beside the chart it moves, the five charts, Run and its status, the findings,
    the results and the feature panel.

    Example:
        >>> ex = build_explorer("tiny"); ex           # in a notebook cell
        >>> ex.controls["alpha"].value = 0.05        # cheap charts update, no training
        >>> ex.run(); ex.wait(60); ex.results[-1].robustness
    """

    def __init__(self, model: ExplorerModel, backend: str = "auto", opening_error=None):
        self.model = model
        self.inputs = Controls(model)
        self.controls, self.errors = self.inputs.widgets, self.inputs.errors
        self.runs = RunPanel(model)
        self.charts = {"robustness": RobustnessChart(backend=backend), "loss": LossChart(backend=backend),
                       "labels": LabelChart(backend=backend), "graph": GraphChart(backend=backend),
                       "samples": SamplesChart(backend=backend)}
        for name, chart in self.charts.items():
            chart.widget.add_class(f"dssl-chart-{name}")
        self.features = FeaturePanel(model)
        self.header, self.notice, self.readout = W.HTML(), W.HTML(), W.HTML()
        self.paper, self.table, self.chart_note, self.chart_text = W.HTML(), W.HTML(), W.HTML(), W.HTML()
        self.prediction = W.Textarea(placeholder="your prediction", layout=W.Layout(width="99%", height="40px"))
        self.predict_box = W.VBox([W.HTML(readouts.PREDICT), self.prediction])
        ins, r, c = self.inputs, self.runs, {k: ch.widget for k, ch in self.charts.items()}
        for button in (*r.buttons(), *r.extras()):
            button.layout.width = "112px"
        parts = [ins.row(name) for name in ins.parts]
        lead = column([ins.row("alpha"), ins.row("objective"), ins.row("topology"), *parts, ins.row("compare"),
                       W.HBox(r.buttons(), layout=W.Layout(flex_flow="row wrap")), ins.errors["general"],
                       self.notice, r.estimate, W.HBox([r.progress]), r.progress_text, r.status])
        axes = W.HBox([ins.row("x_axis"), ins.row("reference")], layout=W.Layout(flex_flow="row wrap"))
        data = column([ins.row("clients"), ins.row("rounds"), ins.row("seed"), ins.row("seeds"),
                       ins.row("preset"), ins.row("auto_run"), W.HBox(r.extras(), layout=W.Layout(flex_flow="row wrap")),
                       r.link, r.link_help, r.yaml, self.readout])
        for chart in c.values():
            chart.layout.flex = "0 1 auto"
        super().__init__(
            [W.HTML(readouts.CSS), self.header,
             row([lead, W.VBox([c["robustness"], axes, self.chart_note, r.comparison, self.predict_box],
                               layout=W.Layout(width=CHART_COLUMN, max_width="100%")), c["loss"]]),
             row([data, c["labels"], c["graph"], c["samples"]]), self.chart_text, self.paper,
             W.HTML(f"<div class='dssl-help'>{readouts.DEFINITIONS}</div>"), self.table, self.features],
            layout=W.Layout(width="100%", overflow="hidden"))
        self.add_class("dssl-explorer")
        self._wire()
        self._on_setting({"new": model.setting})
        self.runs.run_button.disabled = model.error is not None
        if opening_error is not None:  # a link's bad value: one line, at the default setting
            self.inputs.show_error((opening_error.field, f"this link: {opening_error}"))

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

    # ----- trait changes -> widget properties (may run on the worker thread) -----
    def _wire(self) -> None:
        m = self.model
        m.watch(self._on_setting, "setting")
        m.watch(lambda ch: self._on_error(ch["new"]), "error")
        m.watch(lambda ch: self._show_notice(), "notice")
        m.watch(self._on_live, "live")
        m.watch(self._on_results, "results")
        m.watch(lambda ch: self.inputs.show_error(ch["new"]), "failure")
        m.watch(lambda ch: self.charts["loss"].pin(ch["new"]), "pinned")
        m.watch(lambda ch: self._show_atlas(), "x_axis")
        m.watch(self._on_status, "status")
        m.watch(lambda ch: self._clear(), "cleared")

    def _on_setting(self, change) -> None:
        s = change["new"]
        c = s.config
        self.charts["labels"].update(s)
        self.charts["samples"].update(s, load(c.dataset, c.image_size).train_x.numpy())
        self.charts["graph"].update(s)
        self._show_atlas()
        self.paper.value = paper_block(c)
        self.header.value = readouts.header(c)
        self.readout.value = readouts.readout(s)
        self._show_notice()

    def _show_notice(self) -> None:
        n = self.model.notice
        self.notice.value = f"<span class='dssl-notice'>&#9432; {html.escape(n)}</span>" if n else ""

    def _on_error(self, err) -> None:
        self.inputs.show_error(err)
        if err is not None:  # the charts still show the last valid setting: say so
            self.readout.value = readouts.INVALID
        else:
            self.readout.value = readouts.readout(self.model.setting)

    def _on_status(self, change) -> None:
        att = self.model.attempt
        if change["new"] == "running":
            self.inputs.show_error(self.model.error)
            self.charts["loss"].start(describe(att.config.as_dict()), att.config.objective, att.config.clients)
        elif change["new"] == "finished" and self.prediction.value.strip():
            self.predict_box.children = (W.HTML(
                f"You predicted: <i>{html.escape(self.prediction.value)}</i>. Compare with the robustness chart."),)

    def _on_live(self, change) -> None:
        self.charts["loss"].show(change["new"])
        self._describe()

    def _on_results(self, change) -> None:
        self.charts["robustness"].update(change["new"], self.model.x_axis)
        self.table.value = readouts.results_table(change["new"])
        self._describe()

    def _show_atlas(self) -> None:
        m = self.model
        objectives = list(dict.fromkeys([*m.compare, m.config.objective]))
        self.charts["robustness"].show_atlas(m.setting, m.x_axis, objectives)
        self.chart_note.value = f"<span class='dssl-chart-note'>{html.escape(self.charts['robustness'].note)}</span>"
        self._describe()

    def _describe(self) -> None:
        r, loss = self.charts["robustness"].describe(), self.charts["loss"].describe()
        self.chart_text.value = (f"<div class='dssl-chart-text dssl-help'>"
                                 f"<span class='dssl-robustness-text'>Robustness chart: {html.escape(r)}</span><br>"
                                 f"<span class='dssl-loss-text'>Loss chart: {html.escape(loss)}</span></div>")

    def _clear(self) -> None:
        """Reset: every chart and box as on a fresh page."""
        self.charts["loss"].clear()
        self.charts["robustness"].update([], self.model.x_axis)
        self.table.value = ""
        self.prediction.value = ""
        self.predict_box.children = (W.HTML(readouts.PREDICT), self.prediction)
        self.features.clear()
        self._show_atlas()


def build_explorer(preset: str = "live", backend: str = "auto", seeds: int = 3, mode: str = "full",
                   link: str = "", **overrides: Any):
    """The explorer for a named preset (plus config overrides), ready to display; every Run
    trains `seeds` seeds. `mode="lesson"`: one finding per screen (`lesson.Lesson`). `link`: a
    link made by Copy link (or its query) opens that setting; a bad one opens the default
    setting and says why in one line.

    Example:
        >>> from dssl_widgets import build_explorer
        >>> build_explorer("live")
        >>> build_explorer("live", mode="lesson")
    """
    from dssl_lite import warmup
    from dssl_lite.presets import preset as make_preset

    from .link import Opening, read

    page = read(link, preset, seeds) if link else Opening(preset, make_preset(preset, **overrides), seeds=seeds,
                                                          mode=mode)
    model = ExplorerModel(page.config, page.preset, seeds=page.seeds)
    model.compare, model.x_axis = page.compare, page.x_axis
    warmup.start_in_background([page.config])  # the workers up and the step compiled before the first Run
    if (page.mode if link and page.error is None else mode) == "lesson":
        from .lesson import Lesson

        return Lesson(model, backend=backend, finding=page.finding, opening_error=page.error,
                      draft=page.config if link and page.error is None else None)
    return Explorer(model, backend=backend, opening_error=page.error)
