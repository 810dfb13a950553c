"""Markdown tables from an atlas CSV: the response curves and paired comparisons that
docs/fidelity.md and docs/signal.md quote. Reads numbers only; trains nothing.

    python scripts/atlas_tables.py data/atlas/live.csv > /tmp/tables.md
"""
import sys

import numpy as np
import pandas as pd

from dssl_lite.stats import paired_difference, summarize


def ci(values) -> str:
    s = summarize(values)
    return f"{s['mean']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}]" if s["n"] > 1 else f"{s['mean']:.3f}"


def paired(t: pd.DataFrame, a: dict, b: dict, value: str = "robustness") -> str:
    pick = lambda sel: t.loc[np.logical_and.reduce([(t[k].isna() if v is None else np.isclose(t[k], v))
                                                    if k in ("alpha", "mar_weight") else t[k] == v
                                                    for k, v in sel.items()])].set_index("seed")[value]
    x, y = pick(a), pick(b)
    seeds = x.index.intersection(y.index)
    d = paired_difference(x[seeds], y[seeds])
    return f"{d['mean']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}], d_z {d['cohen_d']:.2f}"


def alpha_curves(t: pd.DataFrame) -> str:
    fl = t[(t.topology == "fl") & np.isclose(t.mar_weight, 0.1)]
    alphas = sorted(fl.alpha.dropna().unique())
    objs = [o for o in ("mim", "cl", "mar", "simclr") if o in set(fl.objective)]
    lines = ["| alpha | " + " | ".join(objs) + " | MIM - CL (paired) |", "|---" * (len(objs) + 2) + "|"]
    for a in alphas:
        cells = [ci(fl[(fl.objective == o) & np.isclose(fl.alpha, a)].robustness) for o in objs]
        diff = paired(fl, {"objective": "mim", "alpha": a}, {"objective": "cl", "alpha": a})
        lines.append(f"| {a:g} | " + " | ".join(cells) + f" | {diff} |")
    iid = [ci(fl[(fl.objective == o) & fl.alpha.isna()].accuracy) for o in objs]
    lines.append("| IID accuracy | " + " | ".join(iid) + " | |")
    lines.append(f"| floor (untrained encoder) | {ci(fl.drop_duplicates('seed').floor)} | | | | |")
    return "\n".join(lines)


def connectivity(t: pd.DataFrame, alpha: float) -> str:
    rows = t[np.isclose(t.alpha, alpha) & ~t.objective.isin(["mar", "simclr"])]
    graphs = [("ring", 2), ("regular", 4), ("regular", 8), ("complete", 2), ("fl", 2)]
    lines = [f"| graph (alpha {alpha:g}) | MIM robustness | CL robustness |", "|---|---|---|"]
    for topo, deg in graphs:
        sel = rows[(rows.topology == topo) & ((rows.degree == deg) | (topo != "regular"))]
        if topo == "fl":
            sel = rows[(rows.topology == "fl") & np.isclose(rows.mar_weight, 0.1)]
        name = f"regular-{deg}" if topo == "regular" else topo
        lines.append(f"| {name} | {ci(sel[sel.objective == 'mim'].robustness)} | "
                     f"{ci(sel[sel.objective == 'cl'].robustness)} |")
    for obj in ("mim", "cl"):
        lines.append(f"| complete - ring, {obj} (paired) | "
                     f"{paired(rows, {'objective': obj, 'topology': 'complete'}, {'objective': obj, 'topology': 'ring'})} | |")
        lines.append(f"| FL - ring, {obj} (paired) | "
                     f"{paired(rows[rows.degree == 2], {'objective': obj, 'topology': 'fl'}, {'objective': obj, 'topology': 'ring'})} | |")
    return "\n".join(lines)


def mar(t: pd.DataFrame) -> str:
    lines = ["| setting | MIM robustness | MAR robustness | MAR - MIM (paired) | MIM / MAR IID accuracy | floor |",
             "|---|---|---|---|---|---|"]
    for topo, deg in (("fl", 2), ("regular", 4)):
        for a in (0.01, 0.1):
            rows = t[(t.topology == topo) & (t.degree == deg) & np.isclose(t.mar_weight, 0.1)]
            m, r = rows[(rows.objective == "mim") & np.isclose(rows.alpha, a)], rows[(rows.objective == "mar") & np.isclose(rows.alpha, a)]
            if not len(r) or not len(m):
                continue
            iid = lambda o: ci(rows[(rows.objective == o) & rows.alpha.isna()].accuracy)
            lines.append(f"| {topo}{'' if topo == 'fl' else f'-{deg}'}, alpha {a:g} | {ci(m.robustness)} | {ci(r.robustness)} | "
                         f"{paired(rows, {'objective': 'mar', 'alpha': a}, {'objective': 'mim', 'alpha': a})} | "
                         f"{iid('mim')} / {iid('mar')} | {ci(rows.drop_duplicates('seed').floor)} |")
    w = t[(t.objective == "mar") & (t.topology == "fl")]
    for weight in sorted(w.mar_weight.unique()):
        sel = w[np.isclose(w.mar_weight, weight)]
        if sel.alpha.notna().any():
            lines.append(f"| FL, alpha 0.01, mar_weight {weight:g} | | {ci(sel[np.isclose(sel.alpha, 0.01)].robustness)} | | "
                         f"IID accuracy {ci(sel[sel.alpha.isna()].accuracy)} | |")
    return "\n".join(lines)


if __name__ == "__main__":
    table = pd.read_csv(sys.argv[1])
    print("## Robustness against alpha (FL; mean [95 % interval] over seeds)\n")
    print(alpha_curves(table))
    for a in sorted(table[table.topology != "fl"].alpha.dropna().unique()):
        print(f"\n## Robustness against connectivity, alpha {a:g}\n")
        print(connectivity(table, a))
    print("\n## MAR against MIM\n")
    print(mar(table))
