"""The lesson mode: one finding per screen, for a class in front of a projector.

Each screen asks its question (`lesson_model.SCREENS`), takes a committed guess, then reveals the
measured curve beside the controls that matter for it, the package's verdict under the chart (the
findings registry's, as on every surface), how many seeds the measurement would need, and where
the finding holds (the regime map). A step leads to the next finding. The setting lives on the
same `ExplorerModel` and its draft as in the full explorer, so the controls behave alike.
"""
from __future__ import annotations

import html

import ipywidgets as W
import traitlets as T

from dssl_lite.config import ConfigError
from dssl_lite.findings import FINDINGS

from . import link, readouts
from .controls import Controls
from .drift_chart import DriftChart
from .explorer import CHART_COLUMN, column, row
from .lesson_model import LessonModel, guess_meets, seeds_words
from .paper import line as paper_line
from .regime_view import regime_html
from .robustness_chart import RobustnessChart


class Lesson(W.VBox):
    """See the module. `lesson` is the `LessonModel` (finding, guesses, revealed); `model` the
    `ExplorerModel` whose draft the controls edit.

    Example:
        >>> les = build_explorer("live", mode="lesson"); les
        >>> les.answers.value = les.answers.options[0]; les.reveal_button.click(); les.next_button.click()
    """

    def __init__(self, model, backend: str = "auto", finding: int = 1, opening_error=None, draft=None):
        self.model = model
        self.lesson = LessonModel(finding=finding)
        self.inputs = Controls(model)
        self.controls = self.inputs.widgets
        self.charts = {"robustness": RobustnessChart(backend=backend), "drift": DriftChart(backend=backend)}
        for name, chart in self.charts.items():
            chart.widget.add_class(f"dssl-chart-{name}")
        self.title, self.claim, self.question, self.outcome = W.HTML(), W.HTML(), W.HTML(), W.HTML()
        self.verdict, self.seeds, self.chart_note, self.regime = W.HTML(), W.HTML(), W.HTML(), W.HTML()
        self.steps = W.ToggleButtons(options=[(f"{n}", n) for n in FINDINGS], value=self.lesson.finding,
                                     description="finding", style={"button_width": "48px", "description_width": "60px"})
        T.link((self.lesson, "finding"), (self.steps, "value"))
        self.prev_button = W.Button(description="previous", layout=W.Layout(width="120px"))
        self.next_button = W.Button(description="next finding", button_style="primary", layout=W.Layout(width="160px"))
        self.answers = W.RadioButtons(options=["-"], layout=W.Layout(width="auto"))
        self.reveal_button = W.Button(description="Reveal the measurement", button_style="success",
                                      layout=W.Layout(width="auto"))
        self.where_button = W.ToggleButton(description="Where does this hold?", layout=W.Layout(width="auto"))
        self.link_button = W.Button(description="Copy link")
        self.link = W.Text(layout=W.Layout(width="99%", display="none"))
        for name in ("prev", "next", "reveal", "where", "link"):
            getattr(self, f"{name}_button").add_class(f"dssl-{name}")
        self.answers.add_class("dssl-answers")
        self.controls_box = W.VBox()
        self.chart_box = W.Box()
        self.error = W.HTML()
        steps = W.HBox([self.prev_button, self.next_button], layout=W.Layout(flex_flow="row wrap"))
        super().__init__(
            [W.HTML(readouts.CSS), self.title, self.claim,
             row([column([self.question, self.answers, self.reveal_button, self.outcome, self.controls_box,
                          self.error, self.seeds, self.where_button, steps, self.steps]),
                  W.VBox([self.chart_box, self.chart_note, self.verdict],
                         layout=W.Layout(width=CHART_COLUMN, max_width="100%"))]),
             self.regime, W.HBox([self.link_button]), self.link],
            layout=W.Layout(width="100%", overflow="hidden"))
        self.add_class("dssl-explorer")
        self.add_class("dssl-lesson")
        self._wire()
        self._on_finding()
        if draft is not None:  # a link's setting, not the finding's own
            model.draft.load(draft)
        if opening_error is not None:
            self.error.value = f"<span class='dssl-error'>&#9888; this link: {html.escape(str(opening_error))}</span>"

    def _wire(self) -> None:
        les, m = self.lesson, self.model
        self.prev_button.on_click(lambda b: les.previous())
        self.next_button.on_click(lambda b: les.next())
        self.reveal_button.on_click(lambda b: les.reveal())
        self.answers.observe(self._on_answer, "value")
        self.where_button.observe(lambda ch: self._show_regime(), "value")
        self.link_button.on_click(lambda b: self._show_link())
        les.observe(lambda ch: self._on_finding(), "finding")
        les.observe(lambda ch: self._show(), "revealed")
        m.watch(lambda ch: self._show(), "setting")
        m.watch(lambda ch: self._on_error(ch["new"]), "error")

    # ----- a screen -----
    def _on_finding(self) -> None:
        """A new screen: the finding's setting on the draft, its question, its chart and controls."""
        les, m = self.lesson, self.model
        n, screen, f = les.finding, les.screen, FINDINGS[les.finding]
        try:
            base = f.base(m.preset)
        except ConfigError as e:  # a preset too small for this finding: say so, keep the page
            self.error.value = f"<span class='dssl-error'>&#9888; {html.escape(str(e))}</span>"
            base = m.config
        with m.hold_trait_notifications():
            m.compare = list(screen.objectives)
            if screen.x_axis in ("alpha", "degree"):
                m.x_axis = screen.x_axis
        m.draft.load(base)
        self.title.value = (f"<div class='dssl-lesson-title' style='font-size:21px;font-weight:bold'>Finding {n} of "
                            f"{len(FINDINGS)}: {html.escape(f.title)}</div>")
        self.claim.value = (f"<div style='font-size:17px'><b>The paper:</b> {html.escape(f.claim)}. "
                            f"<span class='dssl-help'>({html.escape(f.objective)})</span></div>")
        self.question.value = f"<div style='font-size:17px'><b>Predict first.</b> {html.escape(screen.question)}</div>"
        chosen = les.guesses.get(n)
        self.answers.unobserve(self._on_answer, "value")
        self.answers.options = list(screen.answers)
        self.answers.value = None if chosen is None else screen.answers[chosen]
        self.answers.observe(self._on_answer, "value")
        self.controls_box.children = [self.inputs.row(name) for name in screen.controls]
        self.chart_box.children = [self.charts["drift" if screen.x_axis == "drift" else "robustness"].widget]
        self.where_button.value = False
        self.prev_button.disabled, self.next_button.disabled = n == min(FINDINGS), n == max(FINDINGS)
        self.link.layout.display = "none"
        self._show()

    def _on_answer(self, change) -> None:
        if change["new"] is not None:
            self.lesson.guess(change["new"])
        self.reveal_button.disabled = self.lesson.finding not in self.lesson.guesses

    def _on_error(self, err) -> None:
        self.inputs.show_error(err)

    def _show(self) -> None:
        """The chart (its measurement hidden until revealed), the verdict, the seeds, the regime."""
        les, m = self.lesson, self.model
        n, screen, shown = les.finding, les.screen, les.shown
        self.reveal_button.disabled = n not in les.guesses or shown
        if screen.x_axis == "drift":
            f = FINDINGS[4]
            chart = self.charts["drift"]
            chart.show(f.rows(f.at(m.config)), screen.objectives, hidden=not shown)
        else:
            chart = self.charts["robustness"]
            chart.show_atlas(m.setting, m.x_axis, list(screen.objectives), hidden=not shown)
        self.chart_note.value = f"<span class='dssl-chart-note'>{html.escape(chart.note)}</span>"
        self.where_button.disabled = not shown
        if not shown:
            self.verdict.value = self.seeds.value = self.outcome.value = self.regime.value = ""
            return
        here = FINDINGS[n].judge(FINDINGS[n].at(m.config))
        self.verdict.value = f"<div class='dssl-lesson-verdict' style='font-size:16px'>{paper_line(n, m.config).html()}</div>"
        self.seeds.value = f"<div class='dssl-seeds' style='font-size:15px'>{html.escape(seeds_words(here))}</div>"
        self.outcome.value = (f"<div class='dssl-outcome' style='font-size:16px'>You predicted: "
                              f"<i>{html.escape(screen.answers[les.guesses[n]])}</i>. "
                              f"{html.escape(guess_meets(les.guesses[n], here.verdict))}</div>")
        self._show_regime()

    def _show_regime(self) -> None:
        self.regime.value = regime_html(self.lesson.finding) if self.where_button.value else ""

    def _show_link(self) -> None:
        self.link.value = link.url(self.model, "lesson", self.lesson.finding)
        self.link.layout.display = "block"

    # ----- the contract shared with the full explorer -----
    def close(self) -> None:
        self.model.close()
        super().close()
