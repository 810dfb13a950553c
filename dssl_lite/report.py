"""Words, pictures and tables for people: a finding's verdict in three plain parts (`render`),
its plot and markdown, and a sweep folder's summary.

Reads numbers (analyses, rows, result files); computes nothing new and trains nothing.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from .config import Config
from .findings import Analysis
from .storage import DamagedFile, atomic_write, read_json


# ----- findings -----
def interval(d: dict) -> str:
    """`+0.076 (95 % interval +0.016 to +0.137, 10 seeds)`, or the one-seed caveat."""
    if d.get("n", 0) < 2 or not math.isfinite(d.get("ci_low", math.nan)):
        return f"{d['mean']:+.3f} (one seed: no interval)"
    return f"{d['mean']:+.3f} (95 % interval {d['ci_low']:+.3f} to {d['ci_high']:+.3f}, {d['n']} seeds)"


def render(a: Analysis, doc_prefix: str = "") -> str:
    """One finding in three plain parts: what the paper claims, what was measured here (with the
    interval and the number of seeds), and the verdict; then any caveat and where to read more."""
    h = a.headline
    what = h["comparison"] + (f" in {h['metric']}" if h.get("metric") not in (None, "spearman") else "")
    text = (f"**The paper claims** that {a.finding.claim}. **Measured here:** {what}: {interval(h)}. "
            f"**Verdict: {h['verdict']}.**")
    others = a.comparisons.iloc[0 if a.trend is not None else 1:] if len(a.comparisons) else a.comparisons
    if len(others):
        text += " Also: " + "; ".join(f"{r['comparison']} ({r['metric']}) {interval(r)}, {r['verdict']}"
                                      for r in others.to_dict("records")) + "."
    for note in a.notes:
        text += " " + note
    if a.finding.doc:
        text += f" More: [{a.finding.doc}]({doc_prefix}{a.finding.doc})."
    return text


def plot(a: Analysis, axes=None):
    """Left: each arm's robustness (mean +- 1 sd over seeds; collapsed arms marked); right: the
    paired differences the verdict uses, with their 95 % intervals. Returns `(fig, axes)`."""
    import matplotlib.pyplot as plt

    fig, axes = (axes[0].figure, axes) if axes is not None else plt.subplots(1, 2, figsize=(10, 3.6))
    arms, left, right = a.arms, axes[0], axes[1]
    metric = "cka" if a.finding.drift else "robustness"
    x = np.arange(len(arms))
    left.errorbar(x, arms[metric], yerr=arms[metric + "_sd"], marker="o", capsize=3, lw=0, elinewidth=1.5)
    for i, r in enumerate(arms.to_dict("records")):
        if r["at_floor"]:
            left.annotate("collapsed:\nratio means nothing", (i, r[metric]), fontsize=7, color="C3",
                          ha="center", xytext=(0, 12), textcoords="offset points")
    left.set_xticks(x, arms["arm"], rotation=20, fontsize=8)
    left.set_ylabel(f"{metric} (mean +- 1 sd over seeds)")
    if metric == "robustness":
        left.axhline(1.0, color="0.7", lw=1, ls=":")
    comps = [*([a.trend] if a.trend else []), *a.comparisons.to_dict("records")]
    y = np.arange(len(comps))
    mean = np.array([c["mean"] for c in comps])
    lo = np.array([c["ci_low"] for c in comps])
    hi = np.array([c["ci_high"] for c in comps])
    right.errorbar(mean, y, xerr=[np.nan_to_num(mean - lo), np.nan_to_num(hi - mean)], fmt="o", capsize=3)
    right.axvline(0, color="0.5", lw=1)
    right.set_yticks(y, [f"{c['comparison']} ({c['metric']})\n{c['verdict']}" for c in comps], fontsize=7)
    right.invert_yaxis()
    right.set_xlabel("paired difference, mean and 95 % interval")
    fig.suptitle(f"Finding {a.finding.number}: {a.finding.title}", fontsize=10)
    fig.tight_layout()
    return fig, axes


def markdown_table(df: Optional[pd.DataFrame]) -> str:
    """A GitHub markdown table (no `tabulate` dependency); floats to 4 places."""
    if df is None or not len(df):
        return ""
    cell = lambda v: f"{v:.4f}" if isinstance(v, (float, np.floating)) else str(v)
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    return "\n".join(lines + ["| " + " | ".join(cell(v) for v in r) + " |" for r in df.itertuples(index=False)])


def finding_markdown(a: Analysis, base: Config, preset_name: str, rows: pd.DataFrame) -> str:
    """The markdown section for one finding: the verdict in words, then the tables behind it."""
    cols = ["comparison", "metric", "mean", "ci_low", "ci_high", "n", "cohen_d", "verdict"]
    comps = pd.DataFrame([*([a.trend] if a.trend else []), *a.comparisons.to_dict("records")])
    parts = [f"## Finding {a.finding.number}: {a.finding.title}",
             f"preset `{preset_name}`, dataset `{base.dataset}`, seeds {sorted(set(rows['seed']))}, "
             f"probe {base.probe}; random-encoder floor {rows['floor'].mean():.4f}", "",
             render(a), "", markdown_table(a.arms), "",
             "Paired by seed; 95 % t-interval of the mean difference; cohen_d = d_z (mean / sd of the "
             "differences); +- and _sd columns: 1 sd over seeds.", "",
             markdown_table(comps[[c for c in cols if c in comps]] if len(comps) else comps)]
    return "\n".join(parts) + "\n"


def write_findings(out, analyses: dict, names: dict, rows: dict) -> str:
    """`finding{N}.md/.png` and `report.md` under `out` (the rows live in `out/runs.csv`)."""
    import matplotlib.pyplot as plt

    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    sections = []
    for f, a in analyses.items():
        name, base = names[f]
        sections.append(finding_markdown(a, base, name, rows[f]))
        atomic_write(d / f"finding{f}.md", sections[-1])
        fig, _ = plot(a)
        save_figure(fig, d / f"finding{f}.png")
        plt.close(fig)
    text = "\n".join(sections)
    atomic_write(d / "report.md", text)
    return text


def save_figure(fig, path: Path, dpi: int = 120) -> Path:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return atomic_write(path, buf.getvalue())


# ----- sweeps -----
def _scalars(d: dict) -> dict:
    return {k: v for k, v in d.items() if isinstance(v, (int, float, str, bool)) or v is None}


def collect(out) -> pd.DataFrame:
    """One row per run folder: its parameters, status (ok, failed, damaged) and scalar metrics.
    A folder whose files do not parse is listed as damaged, never a crash."""
    rows = []
    for run_dir in sorted(p for p in Path(out).iterdir() if p.is_dir() and not p.name.startswith(".")):
        row = {"run": run_dir.name}
        try:
            meta = read_json(run_dir / "run.json") if (run_dir / "run.json").exists() else {}
            params = meta.get("params", {})
            row.update({k: (json.dumps(v) if isinstance(v, (list, dict)) else v)
                        for k, v in (params if isinstance(params, dict) else {}).items()})
            if (run_dir / "result.json").exists():
                res = read_json(run_dir / "result.json")
                metrics = res["metrics"] if isinstance(res.get("metrics"), dict) else res
                row.update({"status": "ok", **_scalars(metrics)})
                if "conclusion" in res:
                    row["conclusion"] = res["conclusion"]
            elif (run_dir / "error.json").exists():
                row.update({"status": "failed", "error": str(read_json(run_dir / "error.json").get("message"))})
            else:
                continue
            row["run_seconds"] = meta.get("seconds")
        except DamagedFile as e:
            row.update({"status": "damaged", "error": str(e)})
        rows.append(row)
    return pd.DataFrame(rows)


def sweep_summary(out, metrics=("robustness", "accuracy")) -> "pd.DataFrame":
    """Write `summary.csv` and one `summary_<metric>.png` per metric (mean +- std over seeds
    against the first grid axis, a line per other axis setting) into `out`; -> the table."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    table = collect(out)
    atomic_write(out / "summary.csv", table.to_csv(index=False))
    try:
        meta = read_json(out / "sweep.json") if (out / "sweep.json").exists() else {}
    except DamagedFile:
        meta = {}
    axes = [a for a in meta.get("axes", []) if a in table and a not in ("seed", "seeds")]
    ok = table[table["status"] == "ok"] if "status" in table else table
    if ok.empty or not axes:
        return table
    x, hue = axes[0], axes[1:]
    for m in metrics:
        if m not in ok or not pd_numeric(ok[m]):
            continue
        fig, ax = plt.subplots(figsize=(5, 3.5))
        groups = ok.groupby(hue, dropna=False) if hue else [("all", ok)]
        for level, g in groups:
            s = g.groupby(g[x].astype(str), sort=False)[m].agg(["mean", "std"]).fillna(0.0)
            label = ", ".join(map(str, level)) if isinstance(level, tuple) else str(level)  # groupby(list) keys are tuples
            ax.errorbar(s.index, s["mean"], yerr=s["std"], marker="o", capsize=3, label=label)
        ax.set_xlabel(x)
        ax.set_ylabel(f"{m} (mean +- std over seeds)")
        if hue:
            ax.legend(title=", ".join(hue), fontsize=8)
        fig.tight_layout()
        save_figure(fig, out / f"summary_{m}.png", dpi=100)
        plt.close(fig)
    return table


def pd_numeric(col) -> bool:
    return pd.api.types.is_numeric_dtype(col)


