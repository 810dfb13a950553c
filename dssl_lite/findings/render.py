"""A `Judgement` for people: words, one table, a plot, a report folder. Reads judgements; computes
nothing new, so every surface shows the same numbers and the same verdict string."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from . import Judgement
from . import verdicts as V

# Where a notebook or the explorer links to: the published docs, which work from a source
# checkout, a pip install, a `dssl-lite notebooks DIR` copy and Voila alike.
REPO_URL = "https://github.com/dssl-lite/dssl-lite/blob/main/"
DOCS_URL = REPO_URL + "docs/"


def md_table(header: Sequence[str], body: list) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(map(str, r)) + " |" for r in body])


def mean_ci(values) -> str:
    """`0.907 [0.809, 1.005]`: a mean over seeds and its 95 % t-interval ("" without values)."""
    from ..stats import summarize

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return ""
    s = summarize(v)
    return f"{s['mean']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}]" if s["n"] > 1 else f"{s['mean']:.3f}"


def _interval(m: dict) -> str:
    lo, hi = m.get("interval", [math.nan, math.nan])
    est = m.get("estimate", math.nan)
    if not math.isfinite(est):
        return "-"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return f"{est:+.3f}" if "p_falling" not in m else f"p = {est:.3f}"
    return f"{est:+.3f} [{lo:+.3f}, {hi:+.3f}]"


def measures_text(j: Judgement) -> str:
    """The secondary numbers in one sentence: `name: +0.01 [-0.02, +0.04] (within the noise); ...`."""
    parts = []
    for m in j.measures:
        v = f" ({m['verdict']})" if "verdict" in m else ""
        if "p_falling" in m:
            parts.append(f"{m['name']}: p = {m['estimate']:.3f} (falling: p = {m['p_falling']:.3f})")
        else:
            parts.append(f"{m['name']}: {_interval(m)}{v}")
    return "; ".join(parts)


def markdown(j: Judgement, doc_prefix: str = "", link: bool = True) -> str:
    """One finding in three plain parts: what the paper claims, what was measured here (where, the
    statistic, its interval and seeds), the verdict; then the other numbers, the caveats, a link."""
    text = (f"**The paper claims** that {j.claim}. **Measured here** ({j.setting}): {j.statistic}: {j.numbers}. "
            f"**Verdict: {j.verdict}.**")
    if j.measures:
        text += " Also: " + measures_text(j) + "."
    for note in j.notes:
        text += f" Note: {note}."
    if link and j.doc:
        text += f" More: [{j.doc}]({doc_prefix}{j.doc})."
    return text


def plain(j: Judgement) -> str:
    """`markdown` without its markup, for a terminal."""
    return markdown(j, link=False).replace("**", "")


def summary_table(judgements: Sequence[Judgement], link_prefix: str = "") -> str:
    """The four findings in one markdown table: claim, where, the numbers, the verdict, the notebook."""
    lines = ["| finding | the paper claims that | measured here [95 %] | verdict | notebook |", "|---|---|---|---|---|"]
    for j in judgements:
        measured = f"{j.statistic}: {j.numbers} ({j.setting})"
        nb = f"[{j.notebook.split('.')[0]}]({link_prefix}notebooks/{j.notebook})" if j.notebook else ""
        lines.append(f"| {j.finding} | {j.claim} | {measured} | **{j.verdict}** | {nb} |")
    return "\n".join(lines)


def arms_table(j: Judgement, metrics: Sequence[str] = ("accuracy", "iid_accuracy", "robustness")) -> str:
    """Per arm: seeds and each metric's mean +- 1 sd over seeds (a collapsed arm flagged)."""
    a = j.arms
    if not len(a):
        return ""
    metrics = [m for m in metrics if m in a]
    lines = ["| arm | seeds | " + " | ".join(metrics) + " | floor |", "|" + "---|" * (len(metrics) + 3)]
    for r in a.to_dict("records"):
        cells = [f"{r[m]:.3f} +- {r[m + '_sd']:.3f}" for m in metrics]
        flag = " (collapsed)" if r.get("at_floor") else ""
        lines.append(f"| {r['arm']}{flag} | {r['n']} | " + " | ".join(cells) + f" | {r['floor']:.3f} |")
    return "\n".join(lines)


def plot(j: Judgement, axes=None):
    """Left: each arm's headline metric (mean +- 1 sd over seeds; collapsed arms marked); right: the
    headline statistic and every interval beside it, against 0 and the smallest effect of
    interest. Returns `(fig, axes)`."""
    import matplotlib.pyplot as plt

    fig, axes = (axes[0].figure, axes) if axes is not None else plt.subplots(1, 2, figsize=(10, 3.6))
    left, right = axes
    arms = j.arms
    metric = "cka" if "cka" in arms and j.finding == 4 else "robustness"
    if len(arms) and metric in arms:
        x = np.arange(len(arms))
        left.errorbar(x, arms[metric], yerr=arms.get(metric + "_sd", 0), marker="o", capsize=3, lw=0, elinewidth=1.5)
        for i, r in enumerate(arms.to_dict("records")):
            if r.get("at_floor"):
                left.annotate("collapsed:\nratio means nothing", (i, r[metric]), fontsize=7, color="C3",
                              ha="center", xytext=(0, 12), textcoords="offset points")
        left.set_xticks(x, arms["arm"], rotation=20, fontsize=8)
        left.set_ylabel(f"{metric} (mean +- 1 sd over seeds)")
    rows = [{"name": j.statistic, "estimate": j.estimate, "interval": list(j.interval), "verdict": j.verdict},
            *[m for m in j.measures if "p_falling" not in m]]
    y = np.arange(len(rows))
    est = np.array([r["estimate"] for r in rows], dtype=float)
    lo = np.array([r["interval"][0] for r in rows], dtype=float)
    hi = np.array([r["interval"][1] for r in rows], dtype=float)
    right.errorbar(est, y, xerr=[np.nan_to_num(est - lo), np.nan_to_num(hi - est)], fmt="o", capsize=3)
    right.axvline(0, color="0.5", lw=1)
    right.axvspan(-j.sesoi, j.sesoi, color="0.9", zorder=0, label="smaller than matters")
    right.set_yticks(y, [f"{r['name']}\n{r.get('verdict', '')}" for r in rows], fontsize=7)
    right.invert_yaxis()
    right.set_xlabel("estimate and 95 % interval")
    fig.suptitle(f"Finding {j.finding}: {j.verdict}", fontsize=10)
    fig.tight_layout()
    return fig, axes


def write_report(out, judgements: Sequence[Judgement], rows: dict) -> str:
    """`finding{N}.md/.png` and `report.md` under `out` (the rows live in `out/runs.csv`)."""
    import matplotlib.pyplot as plt

    from ..storage import atomic_write

    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    sections = []
    for j in judgements:
        seeds = sorted(set(rows[j.finding]["seed"])) if len(rows[j.finding]) else []
        sections.append("\n".join([f"## Finding {j.finding}: {j.verdict}", "", markdown(j), "",
                                   f"Seeds {seeds}; paired by seed; 95 % t-intervals; +- = 1 sd over seeds.", "",
                                   arms_table(j), ""]))
        atomic_write(d / f"finding{j.finding}.md", sections[-1])
        fig, _ = plot(j)
        save_figure(fig, d / f"finding{j.finding}.png")
        plt.close(fig)
    text = "\n".join(sections)
    atomic_write(d / "report.md", text)
    return text


def save_figure(fig, path: Path, dpi: int = 120) -> Path:
    import io

    from ..storage import atomic_write

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return atomic_write(path, buf.getvalue())


def verdict_colour(verdict: str) -> str:
    return V.COLOURS.get(verdict, "#555")


def frame(judgements: Sequence[Judgement]) -> pd.DataFrame:
    """Judgements as a table (one row each), for notebooks."""
    return pd.DataFrame([{k: v for k, v in j.as_dict().items() if k not in ("measures", "notes")} for j in judgements])


def conclude(number: int, runs: pd.DataFrame, bases: Sequence, doc_prefix: str = DOCS_URL) -> tuple[str, dict]:
    """A notebook's conclusion: the finding as the package states it (the registry's judgement on
    the shipped atlas, the same words as the README and `dssl-lite findings`), then the same
    statistic on this notebook's own runs at each of its settings (`bases`), the setting named.
    -> (markdown, flat metrics for a sweep's summary)."""
    from . import FINDINGS, judgement

    head = judgement(number)
    mine = [FINDINGS[number].judge(b, runs) for b in bases]
    text = f"**Finding {number} as the package states it** (`dssl-lite findings`): {markdown(head, doc_prefix)}"
    lines = []
    for j in mine:
        same = (j.setting, j.numbers) == (head.setting, head.numbers)
        lines.append(f"- {j.sentence()}" + (" These are the runs the package's verdict rests on." if same else ""))
        for note in j.notes:
            lines.append(f"  Note: {note}.")
    text += "\n\n**On this notebook's runs** (the same statistic and scale):\n\n" + "\n".join(lines)
    metrics = {"verdict[package]": head.verdict, "estimate[package]": head.estimate}
    for b, j in zip(bases, mine):
        tag = "alpha=IID" if b.alpha is None else f"alpha={b.alpha:g}"
        metrics.update({f"verdict[{tag}]": j.verdict, f"estimate[{tag}]": j.estimate, f"seeds[{tag}]": j.seeds})
    return text, metrics
