"""Shareable settings: the page's setting as a link, and a link back into a setting.

A link's query holds the preset, the draft's fields that differ from it, and the page's own
state: seeds per Run, the objectives on the chart, the chart's axis, and for a lesson its mode
and finding. Voila hands a page's query to its kernel (`QUERY_STRING`, and the whole address in
`VOILA_REQUEST_URL`); in JupyterLab the explorer notebook's `link` parameter takes it. A bad value
never raises: `read` gives the default setting and the one-line error naming the field.

    >>> q = query(model)                  # 'preset=live&alpha=0.1&objective=cl&x=graphs'
    >>> read(q).config == model.config    # True
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import parse_qsl, urlencode

from dssl_lite.config import Config, ConfigError
from dssl_lite.errors import short
from dssl_lite.presets import PRESETS, preset
from dssl_lite.registry import OBJECTIVES

COMPARE = ("mim", "cl")
AXES = {"alpha": "alpha", "graphs": "degree", "traffic": "traffic"}       # the word in a link -> the chart's axis
MODES = ("full", "lesson")
SEEDS = (1, 5)
SERVER_KEYS = ("token", "template", "theme")  # Jupyter's and Voila's own query keys: not a setting


@dataclass
class Opening:
    """What a link opens: a preset, the draft on it, and the page's state; `error` is the
    link's bad value (the rest is then the default setting)."""

    preset: str
    config: Config
    seeds: int = 3
    compare: list = field(default_factory=lambda: list(COMPARE))
    x_axis: str = "alpha"
    mode: str = "full"
    finding: int = 1
    error: Optional[ConfigError] = None


def _text(value) -> str:
    return "iid" if value is None else str(value)


def query(model, mode: str = "full", finding: int = 1) -> str:
    """The page as a query string: preset, changed draft fields, page state (defaults left out)."""
    base = preset(model.preset).as_dict() if model.preset in PRESETS else Config().as_dict()
    values = model.draft.values()
    items = [("preset", model.preset)] if model.preset in PRESETS else []
    items += [(k, _text(v)) for k, v in values.items() if v != base[k]]
    if model.seeds != 3:
        items.append(("seeds", str(model.seeds)))
    if list(model.compare) != list(COMPARE):
        items.append(("compare", ",".join(model.compare)))
    if model.x_axis != "alpha":
        items.append(("x", next(w for w, a in AXES.items() if a == model.x_axis)))
    if mode != "full":
        items += [("mode", mode), ("finding", str(finding))]
    return urlencode(items, safe=",")


def url(model, mode: str = "full", finding: int = 1) -> str:
    """A link to open the page at this setting: this Voila page's own address with the query, or
    (in JupyterLab, where a kernel cannot know the page's address) the query alone."""
    here = os.environ.get("VOILA_REQUEST_URL", "").split("?", 1)[0]
    return f"{here}?{query(model, mode, finding)}"


def _choice(name: str, value: str, allowed) -> str:
    if value not in allowed:
        raise ConfigError(name, f"got {short(value)}; allowed: {', '.join(map(str, allowed))}")
    return value


def _int(name: str, value: str, lo: int, hi: int) -> int:
    try:
        n = int(value)
    except ValueError:
        n = None
    if n is None or not lo <= n <= hi:
        raise ConfigError(name, f"got {short(value)}; allowed: an integer in [{lo}, {hi}]")
    return n


def read(text: str, default_preset: str = "live", seeds: int = 3) -> Opening:
    """A link (an address with a query, or the query alone) -> what to open. A bad value gives
    the default setting (`default_preset`) with `error`, never an exception."""
    from dssl_lite.findings import FINDINGS

    values = dict(parse_qsl(text.split("?", 1)[-1] if "?" in text else text, keep_blank_values=True))
    for key in SERVER_KEYS:
        values.pop(key, None)
    try:
        name = _choice("preset", values.pop("preset", default_preset), list(PRESETS))
        page = Opening(name, preset(default_preset), seeds=seeds)
        if "seeds" in values:
            page.seeds = _int("seeds", values.pop("seeds"), *SEEDS)
        if "compare" in values:
            page.compare = [_choice("compare", o, OBJECTIVES.names())
                            for o in values.pop("compare").split(",") if o]
        page.x_axis = AXES[_choice("x", values.pop("x", "alpha"), list(AXES))]
        page.mode = _choice("mode", values.pop("mode", "full"), MODES)
        page.finding = _int("finding", values.pop("finding", "1"), min(FINDINGS), max(FINDINGS))
        page.config = preset(name, **values)  # from_dict: unknown fields and bad values name the field
        return page
    except ConfigError as e:
        return Opening(default_preset, preset(default_preset), seeds=seeds, error=e)
