"""The explorer's controls, each `link`ed to its trait on the draft or the model, with its help
from the registries and its error underneath.

A registered part's own fields (`registry.Param`: a degree for the graphs that read one, the
mask ratio for MIM and MAR, MAR's weight...) get a control made from the field's type and range,
shown only while the chosen objective or graph reads it: a new part's field appears here without
editing this file.
"""
from __future__ import annotations

import html
import math

import ipywidgets as W
import traitlets as T
from ipywidgets.widgets.widget_description import DescriptionWidget

from dssl_lite.presets import PRESETS
from dssl_lite.registry import OBJECTIVES, TOPOLOGIES, Param

from .draft import part_params

STYLE = {"description_width": "110px"}
WIDE = "340px"
HELP = {
    "alpha": "Dirichlet label skew: small alpha gives each client few classes (0.01: about one); large alpha is "
             "near IID. IID: every client holds every class.",
    "clients": "Number of clients K; the data is split among them.",
    "rounds": "Communication rounds (local steps, then averaging or gossip).",
    "seed": "The first seed; Run trains this seed and the next ones (same seed, same numbers).",
    "seeds": "Seeds per Run: each point is their mean, its bar their spread (the noise).",
    "preset": "Load a named setting (sets every control); Reset returns to it.",
    "compare": "Objectives whose measured curves (the atlas) the robustness chart draws, each in its colour.",
    "x_axis": "The robustness chart along alpha, along the graphs from the ring to FL, or the same graphs "
              "against the megabytes they send per round (what connectivity costs).",
    "reference": "Robustness = accuracy divided by the accuracy on IID data of FL (one scale for every graph, "
                 "the paper's) or of the same graph (each graph against itself). The choice can decide finding 2.",
}


def swatch(colour: str) -> str:
    return f"<span style='color:{colour}'>&#9632;</span>"


def help_html(text: str) -> str:
    return f"<span class='dssl-help'>{html.escape(text)}</span>"


def control_for(p: Param) -> W.Widget:
    """A control for a part's field from its type and range: a menu for choices, a slider for a
    number (logarithmic when its range spans more than three decades)."""
    common = dict(description=p.name.replace("_", " "), tooltip=p.help, style=STYLE, layout=W.Layout(width=WIDE))
    if p.choices:
        return W.Dropdown(options=list(p.choices), value=p.default, **common)
    common["continuous_update"] = False
    if p.kind is int:
        hi = p.hi if p.hi is not None and p.hi <= 100 else 64
        return W.IntSlider(value=p.default, min=int(p.lo), max=int(hi), **common)
    lo, hi = float(p.lo), float(p.hi)
    if hi >= 100 and hi > 1000 * max(lo, 1e-3):
        return W.FloatLogSlider(value=p.default, base=10, min=-4, max=math.log10(min(hi, 10.0)), step=0.25,
                                readout_format=".3g", **common)
    step = 0.05 if hi - lo <= 1 else (hi - lo) / 100
    return W.FloatSlider(value=p.default, min=lo + step if p.lo_open else lo, max=hi, step=step,
                         readout_format=".2f", **common)


class Controls:
    """Every control of the page, linked. `widgets[name]` is the control (draft fields by their
    config name; `iid`, `seeds`, `preset`, `x_axis`, `auto_run` and `compare` besides);
    `row(name)` the control with its help and its error box; `errors[name]` that box."""

    def __init__(self, model):
        self.model = model
        d = model.draft
        slider = dict(continuous_update=False, style=STYLE, layout=W.Layout(width=WIDE))
        w = self.widgets = {
            "alpha": W.FloatLogSlider(value=d.alpha, base=10, min=-2, max=2, step=0.1, description="alpha",
                                      readout_format=".3g", continuous_update=False, style=STYLE,
                                      layout=W.Layout(width="280px")),
            "iid": W.Checkbox(value=d.iid, description="IID", indent=False, layout=W.Layout(width="auto")),
            "topology": W.Dropdown(options=list(TOPOLOGIES), value=d.topology, description="graph",
                                   style=STYLE, layout=W.Layout(width=WIDE)),
            "objective": W.Dropdown(options=list(OBJECTIVES), value=d.objective, description="objective",
                                    style=STYLE, layout=W.Layout(width=WIDE)),
            "clients": W.IntSlider(value=d.clients, min=2, max=100, description="clients", **slider),
            "rounds": W.IntSlider(value=d.rounds, min=1, max=200, description="rounds", **slider),
            "seed": W.BoundedIntText(value=d.seed, min=0, max=2**31 - 1, description="first seed",
                                     style=STYLE, layout=W.Layout(width=WIDE)),
            "reference": W.ToggleButtons(options=[("FL on IID", "fl-iid"), ("same graph, IID", "same-graph")],
                                         value=d.reference, description="relative to",
                                         style={**STYLE, "button_width": "140px"}),
            "seeds": W.IntSlider(value=model.seeds, min=1, max=5, description="seeds per Run", **slider),
            "preset": W.Dropdown(options=[*PRESETS, "custom"], value=model.preset_choice, description="preset",
                                 style=STYLE, layout=W.Layout(width=WIDE)),
            "x_axis": W.ToggleButtons(options=[("alpha", "alpha"), ("graphs", "degree"), ("traffic", "traffic")],
                                      value=model.x_axis, description="x axis", style={**STYLE, "button_width": "72px"}),
            "auto_run": W.Checkbox(value=model.auto_run, description="run on every change", indent=False,
                                   layout=W.Layout(width="auto")),
        }
        for name in ("alpha", "iid", "topology", "objective", "clients", "rounds", "seed", "reference"):
            T.link((d, name), (w[name], "value"))
        T.dlink((d, "iid"), (w["alpha"], "disabled"))
        for name in ("seeds", "x_axis", "auto_run"):
            T.link((model, name), (w[name], "value"))
        T.link((model, "preset_choice"), (w["preset"], "value"))
        self.parts = {}
        for name, p in part_params().items():
            self.parts[name] = w[name] = control_for(p)
            T.link((d, name), (w[name], "value"))
        if "degree" in w:  # a graph on K clients has at most K - 1 neighbours each
            T.dlink((d, "clients"), (w["degree"], "max"), lambda k: max(2, k - 1))
        self.compare = {o: W.Checkbox(value=o in model.compare, description=f"{swatch(OBJECTIVES.colour(o))} {o}",
                                      description_allow_html=True, indent=False, layout=W.Layout(width="auto"))
                        for o in ("mim", "cl", "mar", "simclr")}
        for o, box in self.compare.items():
            box.add_class(f"dssl-compare-{o}")
            box.observe(lambda ch: setattr(model, "compare", [o for o, b in self.compare.items() if b.value]), "value")
        model.observe(lambda ch: [setattr(b, "value", o in ch["new"]) for o, b in self.compare.items()], "compare")
        w["compare"] = W.HBox(list(self.compare.values()), layout=W.Layout(flex_flow="row wrap"))
        self.part_help = {"objective": W.HTML(), "topology": W.HTML()}
        for name, registry in (("objective", OBJECTIVES), ("topology", TOPOLOGIES)):
            T.dlink((d, name), (self.part_help[name], "value"),
                    lambda v, r=registry: help_html(r.help().get(v, "")))
        self.errors = {name: W.HTML() for name in (*w, "general")}
        self.rows: dict[str, W.VBox] = {}
        d.observe(lambda ch: self._show_read_fields(), names=["objective", "topology"])
        self._show_read_fields()

    def _show_read_fields(self) -> None:
        """A part's field is on show while the chosen objective or graph declares it."""
        d = self.model.draft
        read = {p.name for r, v in ((OBJECTIVES, d.objective), (TOPOLOGIES, d.topology)) if v in r
                for p in r.params(v)}
        for name in self.parts:
            self.row(name).layout.display = "" if name in read else "none"

    def row(self, name: str) -> W.VBox:
        """The control, its help and its error box (made once). Help: the registry's line for the
        chosen objective and graph, a tooltip for the others, to keep the column short."""
        if name not in self.rows:
            w = self.widgets
            if name == "alpha":
                line = W.HBox([w["alpha"], w["iid"]], layout=W.Layout(flex_flow="row wrap", align_items="center"))
            elif name in self.part_help:
                line = W.VBox([w[name], self.part_help[name]])
            else:
                line = w[name]
            tips = self.compare.values() if name == "compare" else [w[name]]
            for tip in tips:  # a tooltip on a box breaks its view in Voila: only on the controls
                if name in HELP and isinstance(tip, DescriptionWidget):
                    tip.tooltip = HELP[name]
            self.rows[name] = W.VBox([line, self.errors[name]])
            self.rows[name].add_class(f"dssl-row-{name}")
        return self.rows[name]

    def show_error(self, err) -> None:
        """`err` = (field, message): under that field's control when it is on show, else under the
        buttons; None clears every error."""
        for box in self.errors.values():
            box.value = ""
        if err is None:
            return
        field, message = err
        shown = field in self.rows and self.rows[field].layout.display != "none"
        box = self.errors[field] if shown else self.errors["general"]
        box.value = f"<span class='dssl-error'>&#9888; {html.escape(message)}</span>"
