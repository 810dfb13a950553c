"""A sweep folder's summary: one row per run (parameters, status, scalar metrics), `summary.csv`
and a plot per metric. Reads result files; trains nothing. A run whose files do not parse is
listed as damaged, never a crash."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..storage import DamagedFile, atomic_write, read_json


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
        save_figure(fig, out / f"summary_{m}.png")
        plt.close(fig)
    return table


def pd_numeric(col) -> bool:
    return pd.api.types.is_numeric_dtype(col)




def save_figure(fig, path: Path, dpi: int = 100) -> None:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    atomic_write(path, buf.getvalue())
