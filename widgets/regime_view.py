"""Where does this hold? A finding's regime map (`dssl_lite.regime`) as an HTML table: its verdict
over the scale knobs that can change it, each cell coloured by its verdict with its numbers."""
from __future__ import annotations

import functools
import html

from dssl_lite import regime
from dssl_lite.findings import verdicts as V


@functools.lru_cache(maxsize=8)
def regime_html(number: int) -> str:
    """Finding `number`'s grid: rows x columns of settings, each cell its verdict and numbers."""
    grid = regime.GRIDS[number]
    got = {(c["row"], c["col"]): c["judgement"] for c in regime.cells(number)}

    def cell(j) -> str:
        verdict = V.NOT_MEASURED if j is None else j.verdict
        words = regime.CANNOT_EXIST if j is None else (
            verdict if verdict in (V.NOT_MEASURED, V.NO_VERDICT_AT_IID) else f"<b>{verdict}</b><br>{j.numbers}")
        dark = verdict in (V.SHOWS, V.OTHER_WAY, V.NO_DIFFERENCE, V.NOISE)
        return (f"<td style='background:{V.COLOURS.get(verdict, '#ccc')};color:{'white' if dark else '#333'};"
                f"padding:6px 8px' data-verdict='{html.escape(verdict)}'>{words}</td>")

    head = "".join(f"<th style='padding:4px 8px'>{html.escape(c)}</th>" for c, _ in grid.cols)
    body = "".join(f"<tr><th style='text-align:left;padding:4px 8px'>{html.escape(r)}</th>"
                   + "".join(cell(got[(r, c)]) for c, _ in grid.cols) + "</tr>" for r, _ in grid.rows)
    return (f"<div class='dssl-regime' data-finding='{number}'><b>Where does this hold?</b> "
            f"{html.escape(grid.title)}: the package's verdict at each setting (the shipped atlases; grey: not "
            f"measured yet)<table style='border-collapse:separate;border-spacing:3px'><tr><th></th>{head}</tr>"
            f"{body}</table></div>")
