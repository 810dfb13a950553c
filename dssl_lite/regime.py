"""Where each finding holds: its verdict over the scale knobs that can change it on 2 CPU cores.

The regime map is a grid of settings per finding (`GRIDS`), each judged by the findings registry
(`Finding.judge`) on the shipped atlases, so a cell's verdict is the one that finding gets at that
setting; cells no atlas has say "not measured", and a setting that cannot exist says why (20
clients cannot all get images with the unbalanced split at alpha 0.01). Every measured cell is
reported, not only where a finding shows. `table()` is the markdown docs/fidelity.md quotes;
`figure()` draws one panel per finding, each cell coloured by its verdict with the effect printed.

Example:
    >>> cells(1)[0]        # {"finding": 1, "row": "300 local steps", "col": "10 clients", "judgement": ...}
    >>> figure().savefig("docs/regime-map.png")
"""
from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Optional

from .config import ConfigError
from .findings import FINDINGS, Judgement
from .findings import verdicts as V

CANNOT_EXIST = "no such split exists"


@dataclass(frozen=True)
class Grid:
    """One finding's knobs: rows x columns of overrides on its own setting."""

    rows: tuple          # ((label, overrides), ...)
    cols: tuple
    title: str


STEPS = (("300 local steps", dict(rounds=30)), ("600 local steps (live)", dict(rounds=60)),
         ("1,200 local steps", dict(rounds=120)))
GRIDS = {
    1: Grid(STEPS, (("10 clients, unbalanced split (live)", {}),
                    ("10 clients, balanced split", dict(partition="dirichlet-balanced")),
                    ("20 clients, balanced split", dict(clients=20, partition="dirichlet-balanced")),
                    ("20 clients, unbalanced split", dict(clients=20))),
            "finding 1: MIM - CL robustness"),
    2: Grid((("10 clients, unbalanced split (live)", {}),
             ("20 clients, balanced split", dict(clients=20, partition="dirichlet-balanced"))),
            (("alpha 0.01", {}), ("alpha 0.1", dict(alpha=0.1))),
            "finding 2: MIM robustness per doubling of the degree"),
    3: Grid((("every client each round", {}), ("half the clients each round", dict(participation=0.5))),
            (("annealed 0.1 -> 1e-3 (the paper's)", {}),
             ("fixed 1e-3", dict(mar_schedule="constant", mar_weight=0.001)),
             ("fixed 1e-2", dict(mar_schedule="constant", mar_weight=0.01)),
             ("fixed 0.1", dict(mar_schedule="constant", mar_weight=0.1))),
            "finding 3: MAR - MIM robustness, by MAR's weight"),
    4: Grid((("FL, alpha 0.01", {}),), (("300 local steps", dict(rounds=30)), ("600 local steps (live)", {})),
            "finding 4: MIM - CL CKA (and MMD^2)"),
}


def _mar(over: dict) -> tuple[dict, dict]:
    """Finding 3's cells name MAR's weight: split a cell's overrides into the MAR arm's and the rest."""
    mar = {k: v for k, v in over.items() if k.startswith("mar_")}
    return mar, {k: v for k, v in over.items() if k not in mar}


def judge_cell(number: int, over: dict) -> Optional[Judgement]:
    """The finding at its own setting with `over` applied; None when that setting cannot exist."""
    f = FINDINGS[number]
    if number == 3:
        from .findings.mar import variant

        mar, over = _mar(over)
        f = variant(**mar)
    try:
        base = f.base(**over)
        from .federation import Federation

        Federation.from_config(base)  # the split must exist (20 clients at alpha 0.01, unbalanced: no)
    except ConfigError:
        return None
    return f.judge(base)


def cells(number: int) -> list[dict]:
    """Every cell of finding `number`'s grid with its judgement (None: cannot exist)."""
    g = GRIDS[number]
    return [{"finding": number, "row": r, "col": c, "judgement": judge_cell(number, {**ro, **co})}
            for r, ro in g.rows for c, co in g.cols]


def _cell_text(j: Optional[Judgement]) -> str:
    if j is None:
        return CANNOT_EXIST
    if j.verdict in (V.NOT_MEASURED, V.NO_VERDICT_AT_IID):
        return j.verdict
    return f"{j.numbers}: **{j.verdict}**"


def summary() -> str:
    """Finding by finding, in words: the cells where it shows, where it goes the other way or
    shows no difference, where the seeds cannot tell, and how many cells were not measured."""
    groups = {V.SHOWS: "shows", V.OTHER_WAY: "goes the other way", V.NO_DIFFERENCE: "no difference"}
    lines = []
    for n, g in GRIDS.items():
        got = {}
        for c in cells(n):
            j = c["judgement"]
            if j is None:
                continue
            key = groups.get(j.verdict, "not measured" if j.verdict == V.NOT_MEASURED else "undecided")
            where = f"{c['row']}, {c['col']}" if len(g.cols) > 1 else c["row"]
            got.setdefault(key, []).append(f"{where} ({j.verdict})" if key == "undecided" else where)
        said = [f"*{word}* at {'; '.join(got[word])}" for word in ("shows", "goes the other way", "no difference")
                if word in got]
        said += [f"*undecided* at {'; '.join(got['undecided'])}"] if "undecided" in got else []
        said += [f"{len(got['not measured'])} cell(s) not measured"] if "not measured" in got else []
        lines.append(f"- **Finding {n}** ({g.title.split(': ', 1)[1]}): " + "; ".join(said) + ".")
    return "\n".join(lines)


def table() -> str:
    """The regime map as markdown: per finding, its grid with each cell's numbers and verdict."""
    parts = []
    for n, g in GRIDS.items():
        got = {(c["row"], c["col"]): c["judgement"] for c in cells(n)}
        head = "| | " + " | ".join(c for c, _ in g.cols) + " |"
        lines = [f"**{g.title[0].upper() + g.title[1:]}** ({FINDINGS[n].objective})", "", head,
                 "|" + "---|" * (len(g.cols) + 1)]
        for r, _ in g.rows:
            lines.append(f"| {r} | " + " | ".join(_cell_text(got[(r, c)]) for c, _ in g.cols) + " |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def figure(path: Optional[str] = None):
    """One panel per finding: its grid, each cell coloured by its verdict, the estimate, its 95 %
    interval and the seeds printed in it. Saved to `path` when given; -> the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch, Rectangle

    fig, axes = plt.subplots(2, 2, figsize=(15, 9.5), gridspec_kw={"height_ratios": [3, 2]})
    for ax, (n, g) in zip(axes.flat, GRIDS.items()):
        got = {(c["row"], c["col"]): c["judgement"] for c in cells(n)}
        for i, (r, _) in enumerate(g.rows):
            for k, (c, _) in enumerate(g.cols):
                j = got[(r, c)]
                verdict = V.NOT_MEASURED if j is None else j.verdict
                ax.add_patch(Rectangle((k, i), 1, 1, facecolor=V.COLOURS.get(verdict, "#ccc"), edgecolor="white", lw=3))
                if j is None:
                    words = CANNOT_EXIST
                elif verdict in (V.NOT_MEASURED, V.NO_VERDICT_AT_IID):
                    words = verdict
                else:
                    lo, hi = j.interval
                    words = f"{verdict}\n{j.estimate:+.3f}\n[{lo:+.3f}, {hi:+.3f}]\n{j.seeds} seeds"
                dark = verdict in (V.SHOWS, V.OTHER_WAY, V.NO_DIFFERENCE, V.NOISE)
                ax.text(k + 0.5, i + 0.5, words, ha="center", va="center", fontsize=10,
                        color="white" if dark else "#333")
        ax.set_xlim(0, len(g.cols))
        ax.set_ylim(len(g.rows), 0)
        ax.set_xticks([k + 0.5 for k in range(len(g.cols))], [textwrap.fill(c, 16) for c, _ in g.cols], fontsize=9)
        ax.set_yticks([i + 0.5 for i in range(len(g.rows))], [r for r, _ in g.rows], fontsize=9)
        ax.tick_params(length=0)
        for side in ax.spines.values():
            side.set_visible(False)
        ax.set_title(g.title, fontsize=12, loc="left")
    shown = [V.SHOWS, V.NOISE, V.NO_DIFFERENCE, V.OTHER_WAY, V.DISAGREE, V.COLLAPSED, V.NOT_MEASURED]
    fig.legend([Patch(facecolor=V.COLOURS[v]) for v in shown], shown, loc="lower center", ncol=len(shown),
               fontsize=10, frameon=False)
    fig.suptitle("Where each finding holds (digits, alpha 0.01 unless said, five seeds; 95 % intervals)",
                 fontsize=13)
    fig.tight_layout(rect=(0, 0.05, 1, 0.96))
    if path:
        from .findings.render import save_figure

        save_figure(fig, path, dpi=100)
    return fig
