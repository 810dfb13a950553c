"""Run and what it says: the buttons (Run, Stop, Reset, Pin, Copy config, Copy link), the time
estimate, the progress bar, the status line and the run held against the atlas. Watches the
model's traits and only sets widget properties (also from the worker thread)."""
from __future__ import annotations

import html

import ipywidgets as W

from . import link, readouts
from .points import describe


class RunPanel:
    """The widgets of a Run, wired to `model`; `mode()` names the page for Copy link."""

    def __init__(self, model, mode=lambda: ("full", 1)):
        self.model, self.mode = model, mode
        # text-only buttons: icons would come from a web font the page may not reach offline
        self.run_button = W.Button(description="Run", button_style="success")
        self.stop_button = W.Button(description="Stop", button_style="warning")
        self.reset_button = W.Button(description="Reset")
        self.pin_button = W.Button(description="Pin this run")
        self.copy_button = W.Button(description="Copy config")
        self.link_button = W.Button(description="Copy link")
        for name in ("run", "stop", "reset", "pin", "copy", "link"):  # stable hooks for browser tests
            getattr(self, f"{name}_button").add_class(f"dssl-{name}")
        self.estimate = W.HTML()
        self.status = W.HTML("idle · no runs yet")
        self.status.add_class("dssl-status")
        self.progress = W.FloatProgress(value=0, min=0, max=1, bar_style="info",
                                        layout=W.Layout(width="320px", visibility="hidden"))
        self.progress.add_class("dssl-progress")
        self.progress_text = W.HTML()
        self.comparison = W.HTML()
        self.yaml = W.Textarea(layout=W.Layout(width="99%", height="0px", display="none"))
        self.link = W.Text(layout=W.Layout(width="99%", display="none"))
        self.link.add_class("dssl-link")
        self.link_help = W.HTML()
        self._wire()
        self.show_estimate()

    def buttons(self) -> list:
        return [self.run_button, self.stop_button, self.reset_button]

    def extras(self) -> list:
        return [self.pin_button, self.copy_button, self.link_button]

    def _wire(self) -> None:
        m = self.model
        self.run_button.on_click(lambda b: m.run())
        self.stop_button.on_click(lambda b: m.stop())
        self.reset_button.on_click(lambda b: m.reset())
        self.pin_button.on_click(lambda b: m.pin())
        self.copy_button.on_click(lambda b: self.show_yaml())
        self.link_button.on_click(lambda b: self.show_link())
        m.watch(self._on_status, "status")
        m.watch(self._on_progress, "progress")
        m.watch(lambda ch: self.show_estimate(), "estimate")
        m.watch(lambda ch: setattr(self.run_button, "description", "Stop and run this" if ch["new"] else "Run"),
                "pending")
        m.watch(lambda ch: setattr(self.run_button, "disabled", ch["new"] is not None), "error")
        m.watch(lambda ch: self.clear(), "cleared")

    def show_estimate(self) -> None:
        self.estimate.value = readouts.estimate(self.model.estimate, self.model.seeds)

    def clear(self) -> None:
        """A fresh page's: no progress, no verdict, no copied config or link."""
        self.progress.value, self.progress.bar_style, self.progress.layout.visibility = 0, "info", "hidden"
        self.progress_text.value = self.comparison.value = self.link_help.value = ""
        self.status.value = "idle · no runs yet"
        self.yaml.layout.display = self.link.layout.display = "none"
        self.run_button.description = "Run"

    def _on_status(self, change) -> None:
        m, status, att = self.model, change["new"], self.model.attempt
        if status == "running":
            self.comparison.value = ""  # the previous run's verdict is not this run's
            self.status.value = f"<b>running</b> {html.escape(describe(att.config.as_dict()))}"
            self.progress.value, self.progress.layout.visibility, self.progress.bar_style = 0, "visible", "info"
        elif status == "finished":
            self.status.value = readouts.summary(m.results[-1], len(m.results))
            self.comparison.value = f"<span class='dssl-comparison'>{html.escape(m.comparison())}</span>"
            self.progress.value, self.progress.bar_style, self.progress_text.value = 1, "success", ""
            self.show_estimate()  # baselines trained now are cached: the next Run is quicker
        elif status == "stopped":
            self.progress.layout.visibility, self.progress_text.value = "hidden", ""
            self.status.value = (f"stopped after {att.rounds['non_iid']} non-IID / {att.rounds['iid']} IID rounds "
                                 f"· {len(m.results)} run(s) finished")
        elif status == "failed":
            self.progress.bar_style, self.progress_text.value = "danger", ""
            self.status.value = f"run failed · {len(m.results)} run(s) finished"
        elif status == "idle" and not m.results:
            self.clear()

    def _on_progress(self, change) -> None:
        p, att = change["new"], self.model.attempt
        if p is None or att is None:
            return
        self.progress.value = p["fraction"]
        self.progress_text.value = readouts.progress(p, att)

    def show_yaml(self) -> None:
        self.yaml.value = self.model.config_yaml()
        self.yaml.layout.display, self.yaml.layout.height = "block", "220px"

    def show_link(self) -> None:
        """The page's setting as a link, selected for copying, and how to open it."""
        mode, finding = self.mode()
        self.link.value = link.url(self.model, mode, finding)
        self.link.layout.display = "block"
        where = ("this page's address with the setting" if self.link.value.startswith("http") else
                 "append it to a Voila page's address, or paste it into the <code>link</code> parameter of "
                 "notebooks/00_explorer.ipynb")
        self.link_help.value = f"<span class='dssl-help'>Copy the link above ({where}).</span>"
