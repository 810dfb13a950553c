"""The paper beside the measurement: one line per finding with the package's verdict (the
findings registry's judgement on the shipped atlas: the same words as the README, the notebooks
and `dssl-lite findings`) and, where the explorer's setting differs from the finding's own, the
same statistic at the explorer's setting, that setting named beside its verdict.

No training: the lines read the atlas, so they answer as soon as a control moves; at IID or where
the atlas lacks the setting they say so instead of judging.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Optional

from dssl_lite.config import Config
from dssl_lite.findings import FINDINGS, Judgement, judgement
from dssl_lite.findings.render import REPO_URL
from dssl_lite.findings.verdicts import COLOURS


@dataclass
class Line:
    finding: int
    package: Judgement             # the registry's judgement (its own setting)
    here: Optional[Judgement]      # the same statistic at the explorer's setting, when that differs

    @property
    def verdict(self) -> str:
        return self.package.verdict

    def text(self) -> str:
        j = self.package
        out = (f"Finding {j.finding} ({j.objective}). The paper: {j.claim}. The package's verdict "
               f"({j.setting}): {j.statistic} {j.numbers}: {j.verdict}.")
        if self.here is not None:
            out += f" At this setting ({self.here.setting}): {self.here.verdict}" + (
                f", {self.here.numbers}" if self.here.verdict not in ("not measured", "no verdict at IID") else "") + "."
        return out

    def html(self) -> str:
        j, esc = self.package, html.escape
        word = lambda v: f"<b style='color:{COLOURS.get(v, '#555')}'>{esc(v)}</b>"
        here = ""
        if self.here is not None:
            h = self.here
            nums = f", {esc(h.numbers)}" if h.verdict not in ("not measured", "no verdict at IID") else ""
            here = f"<br><i>At this setting</i> ({esc(h.setting)}): {word(h.verdict)}{nums}"
        nb = f"{REPO_URL}notebooks/{j.notebook}"  # the published notebook: a Voila page serves no other file
        return (f"<div class='dssl-paper-line' data-finding='{j.finding}' data-verdict='{esc(j.verdict)}'>"
                f"<b>Finding {j.finding}</b> ({esc(j.objective)}). The paper: {esc(j.claim)}. "
                f"<i>The package's verdict</i> ({esc(j.setting)}): {esc(j.statistic)} {esc(j.numbers)}: "
                f"{word(j.verdict)}{here} · <a href='{nb}' target='_blank' rel='noopener'>notebook</a></div>")


def line(n: int, cfg: Config) -> Line:
    """Finding `n`'s judgement, and the judgement at `cfg`'s setting when that differs."""
    f, package = FINDINGS[n], judgement(n)
    here = f.judge(f.at(cfg))
    same = (here.setting, here.numbers, here.verdict) == (package.setting, package.numbers, package.verdict)
    return Line(n, package, None if same else here)


def lines(cfg: Config) -> list[Line]:
    """One `Line` per finding (see `line`)."""
    return [line(n, cfg) for n in FINDINGS]


def html_block(cfg: Config) -> str:
    body = "".join(line.html() for line in lines(cfg))
    return (f"<div class='dssl-paper' style='line-height:1.5'><b>The paper beside the measurement</b> "
            f"(the shipped atlas, paired by seed; `dssl-lite findings` prints the same verdicts){body}</div>")
