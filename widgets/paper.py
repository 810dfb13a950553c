"""The paper beside the measurement: for each finding, one line with what the paper claims, what
the shipped atlas measured at the explorer's current setting (paired interval, number of seeds)
and the verdict in words (`findings.analyse`), with a link to the notebook that explains it.

No training: the lines read the atlas, so they answer as soon as a control moves, and they say so
where the atlas goes the other way from the paper, or where it lacks the setting.
"""
from __future__ import annotations

import html
from dataclasses import dataclass

from dssl_lite import atlas
from dssl_lite.config import Config
from dssl_lite.findings import FINDINGS, analyse
from dssl_lite.report import interval
from dssl_lite.stats import OPPOSITE, POINTS, SHOWS, UNCLEAR

PLAIN = {SHOWS: "the atlas shows it", POINTS: "points the paper's way, but within the seed noise",
         UNCLEAR: "not shown either way", OPPOSITE: "the atlas measured the opposite"}
COLOR = {SHOWS: "#1b7f3b", POINTS: "#5f6b00", UNCLEAR: "#555", OPPOSITE: "#b00020"}


@dataclass
class Line:
    finding: int
    claim: str
    measured: str
    verdict: str
    notebook: str

    def html(self) -> str:
        word = PLAIN.get(self.verdict, self.verdict)
        return (f"<div class='dssl-paper-line' data-verdict='{html.escape(self.verdict)}'><b>Finding "
                f"{self.finding}.</b> The paper: {html.escape(self.claim)}. <i>Measured here:</i> "
                f"{html.escape(self.measured)}. <b style='color:{COLOR.get(self.verdict, '#555')}'>"
                f"{html.escape(word)}</b> · <a href='{self.notebook}' target='_blank'>notebook</a></div>")


def _bases(cfg: Config) -> dict:
    """The setting each finding is judged at, from the explorer's draft: finding 1 and 3 in FL at
    the draft's alpha, finding 2 over the graphs, finding 4 at the draft's alpha."""
    fl = cfg.replace(topology="fl", participation=1.0)
    return {1: (fl, dict(alphas=[cfg.alpha])), 2: (cfg, {}), 3: (fl, {}), 4: (fl, {})}


def lines(cfg: Config, preset_name: str) -> list[Line]:
    """One `Line` per finding at `cfg`'s setting (alpha, graph, reference), from the atlases."""
    out = []
    for number, (base, options) in _bases(cfg).items():
        f = FINDINGS[number]
        claim = f.claim
        if cfg.alpha is None:
            out.append(Line(number, claim, "at IID there is nothing to lose: move alpha left", UNCLEAR, f.notebook))
            continue
        table = atlas.shipped(f"{preset_name}-drift" if f.drift else preset_name)
        rows = f.label_rows(table, base, **options) if len(table) else table
        if not len(rows) or rows["arm"].nunique() < 2:
            out.append(Line(number, claim, "not in the atlas at this setting", UNCLEAR, f.notebook))
            continue
        h = analyse(f, rows).headline
        what = h["comparison"] + (f" ({h['metric']})" if h.get("metric") not in (None, "spearman") else "")
        out.append(Line(number, claim, f"{what}: {interval(h)}", h["verdict"], f.notebook))
    return out


def html_block(cfg: Config, preset_name: str) -> str:
    body = "".join(line.html() for line in lines(cfg, preset_name))
    return (f"<div class='dssl-paper' style='font-size:92%;line-height:1.5'><b>The paper beside the "
            f"measurement</b> (the atlas at this setting, paired by seed; alpha {cfg.alpha if cfg.alpha else 'IID'})"
            f"{body}</div>")
