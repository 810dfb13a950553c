"""Pictures and tables: the findings' plots and markdown, and a sweep folder's summary.

Reads numbers (frames, result files); computes nothing new and trains nothing.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from .config import Config
from .findings import TITLES, analyse
from .stats import summarize
from .storage import DamagedFile, atomic_write, read_json


# ----- findings -----
def plot(finding: int, frame: pd.DataFrame, ax=None):
    """One picture per finding; returns `(fig, ax)`. Error bars: 95% t-interval over seeds."""
    import matplotlib.pyplot as plt

    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(5, 3.5))
    ci = lambda v: summarize(v)["mean"] - summarize(v)["ci_low"] if len(v) > 1 else 0.0
    if finding == 1:
        for obj, g in frame.groupby("objective"):
            s = g.groupby("alpha")["robustness"]
            ax.errorbar(s.mean().index, s.mean(), yerr=s.apply(ci), marker="o", capsize=3, label=obj)
        ax.set_xscale("log")
        ax.set_xlabel("alpha (Dirichlet; smaller = more skewed)")
    elif finding == 2:
        decl = frame[frame["topology"] != "fl"]
        s = decl.groupby("average_degree")["robustness"]
        ax.errorbar(s.mean().index, s.mean(), yerr=s.apply(ci), marker="o", capsize=3, label="DecL (local models)")
        fl = frame[frame["topology"] == "fl"]["robustness"]
        if len(fl):
            ax.axhline(fl.mean(), color="k", ls="--", label=f"FL {fl.mean():.3f}")
        ax.set_xlabel("average degree")
    else:
        col = "cka" if finding == 4 else "robustness"
        labels = list(dict.fromkeys(frame["arm"]))
        wide = frame.pivot_table(index="seed", columns="arm", values=col)[labels]
        for _, r in wide.iterrows():
            ax.plot(range(len(labels)), r.to_numpy(), color="0.7", marker=".", lw=0.8)
        ax.errorbar(range(len(labels)), wide.mean(), yerr=[ci(wide[c].dropna()) for c in labels],
                    marker="o", color="C3", capsize=4, lw=0, elinewidth=2, label="mean, 95% CI")
        ax.set_xticks(range(len(labels)), labels)
        ax.set_xlim(-0.5, len(labels) - 0.5)
        if finding == 4:
            ax.set_ylabel("linear CKA, local vs start (1 = no drift)")
    if finding != 4:
        ax.set_ylabel("robustness = acc(non-IID) / acc(IID)")
    ax.set_title(f"Finding {finding}: {frame['dataset'].iloc[0]}", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig, ax


def markdown_table(df: Optional[pd.DataFrame]) -> str:
    """A GitHub markdown table (no `tabulate` dependency); floats to 4 places."""
    if df is None or not len(df):
        return ""
    cell = lambda v: f"{v:.4f}" if isinstance(v, (float, np.floating)) else str(v)
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    return "\n".join(lines + ["| " + " | ".join(cell(v) for v in r) + " |" for r in df.itertuples(index=False)])


def finding_markdown(finding: int, frame: pd.DataFrame, base: Config, preset_name: str) -> str:
    """The markdown section for one finding."""
    a = analyse(finding, frame)
    parts = [f"## Finding {finding}: {TITLES[finding]}",
             f"preset `{preset_name}`, dataset `{base.dataset}`, seeds {sorted(set(frame['seed']))}, "
             f"probe {base.probe}; random-encoder floor {frame['floor'].mean():.4f}; "
             f"{frame['wall'].sum():.0f} s of training", "", markdown_table(a["arms"]), "",
             "Paired by seed; 95% t-interval of the mean difference; d = Cohen's d_z (mean/sd of diffs).",
             "", markdown_table(a["comparisons"])]
    if a["correlation"] is not None:
        parts += ["", "Correlation over DecL runs (all seeds pooled):", "", markdown_table(a["correlation"])]
    return "\n".join(parts) + "\n"


def write_findings(out: str, frames: dict[int, pd.DataFrame], names: dict[int, tuple[str, Config]]) -> str:
    """`finding{N}.csv/.md/.png` and `report.md` under `out`; -> the report's markdown."""
    import matplotlib.pyplot as plt

    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    sections = []
    for f, frame in frames.items():
        if not len(frame):
            continue
        name, base = names[f]
        sections.append(finding_markdown(f, frame, base, name))
        atomic_write(d / f"finding{f}.csv", frame.to_csv(index=False))
        atomic_write(d / f"finding{f}.md", sections[-1])
        fig, _ = plot(f, frame)
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


