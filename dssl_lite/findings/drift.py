"""Finding 4: clients' local feature spaces drift further from the global model's under CL than
under MIM.

Judged in FL at alpha 0.01 at the lesson scale: each client's model after a local phase from the
global model, against the global model, on every image of the dataset, by the two measures the
package shows: linear CKA (1 = the same space; MIM - CL above 0 is the paper's way) and MMD^2
(0 = the same distribution; CL - MIM above 0 is the paper's way). Each is judged on the scale;
the finding's verdict is theirs when they agree and says so when they disagree.
"""
from __future__ import annotations

import math

import pandas as pd

from ..config import Config
from . import Finding, Judgement, arm_table, collapse_notes, measure, paired
from . import verdicts as V


class Drift(Finding):
    number = 4
    title = "CL's local feature spaces drift from the global more than MIM's"
    claim = "clients' local feature spaces drift further from the global model's under CL than under MIM"
    objective = "MIM against CL (SimSiam)"
    statistic_words = "MIM - CL similarity of local to global features (linear CKA, paired by seed)"
    sesoi = 0.02  # in CKA and in MMD^2 alike
    fixed = dict(topology="fl", alpha=0.01)
    drift = True
    notebook = "06_feature_spaces.ipynb"
    doc = "fidelity.md#finding-4-feature-drift"

    def arms(self, base: Config) -> list:
        return [(o, base.replace(objective=o)) for o in ("mim", "cl")]

    def where(self, base: Config) -> str:
        return f"{super().where(base)}, FL, each client after a local phase against the global model, every image"

    def statistic(self, rows: pd.DataFrame, base: Config, head: dict) -> Judgement:
        arms = arm_table(rows)
        if "cka" not in rows or rows["cka"].isna().all():
            return Judgement(**head, estimate=math.nan, interval=(math.nan, math.nan), seeds=0,
                             verdict=V.NOT_MEASURED, arms=arms, notes=["these rows carry no drift"])
        cka = measure("MIM - CL CKA (higher = MIM's local features closer to the global)",
                      paired(rows, "mim", "cl", "cka"), self.sesoi)
        mmd = measure("CL - MIM MMD^2 (higher = CL's local features further from the global)",
                      paired(rows, "cl", "mim", "mmd2"), self.sesoi)
        verdict = V.combine([cka["verdict"], mmd["verdict"]])
        notes = collapse_notes(arms)
        if verdict == V.DISAGREE:
            notes.append(f"CKA {cka['verdict']}, MMD^2 {mmd['verdict']}: the two measures of drift point opposite ways")
        return Judgement(**head, estimate=cka["estimate"], interval=tuple(cka["interval"]), seeds=cka["seeds"],
                         verdict=V.COLLAPSED if notes and "collapsed" in notes[0] else verdict,
                         measures=[cka, mmd], notes=notes, arms=arms)


def drift_markdown(base: Config, objectives=("mim", "cl", "mar"), table: pd.DataFrame = None) -> str:
    """Per objective at `base`: CKA and MMD^2 of local to global features (mean [95 %] over seeds)
    and robustness; then both measures of finding 4, each with its verdict."""
    from . import FINDINGS, label
    from .render import md_table, mean_ci

    if table is None:
        from .. import atlas

        table = atlas.everything()
    rows = label(table, [(o, base.replace(objective=o)) for o in objectives])
    rows = rows[rows["cka"].notna()] if "cka" in rows else rows.iloc[:0]
    if not len(rows):
        return "(not measured: no shipped atlas has drift rows here)"
    body = [[o.upper(), mean_ci(g["cka"]), mean_ci(g["mmd2"]), mean_ci(g["robustness"])]
            for o, g in rows.groupby("arm", sort=False)]
    j = FINDINGS[4].judge(base, table)
    comps = [[m["name"], f"{m['estimate']:+.3f} [{m['interval'][0]:+.3f}, {m['interval'][1]:+.3f}], {m['seeds']} seeds",
              m["verdict"]] for m in j.measures]
    return (md_table(["objective", "CKA local-global (1 = same)", "MMD^2 local-global (0 = same)", "robustness"], body)
            + "\n\n" + md_table(["measure (paired)", "difference [95 %]", "verdict"], comps)
            + f"\n\nTogether: **{j.verdict}**.")


def describe_run(table: pd.DataFrame, n_local: int, seeds) -> tuple[str, dict]:
    """Words for a feature-space picture's own numbers (`features.feature_spaces` per objective:
    mean CKA, MMD^2 and kNN gap of its local models): what this run shows, no verdict (a picture's
    few local models are not the finding's measurement, which is `judgement(4)`)."""
    t = table.set_index("objective")
    parts = [f"{o.upper()}: mean CKA {t.loc[o, 'cka_mean']:.3f}, mean MMD^2 {t.loc[o, 'mmd2_mean']:.4f}" for o in t.index]
    text = (f"In this run ({n_local} local models over {len(seeds)} seed{'s' if len(seeds) != 1 else ''}): "
            + "; ".join(parts) + ". Lower CKA and higher MMD^2 mean a client's features sit further from the "
            "global model's. These few models illustrate the method; the finding's verdict rests on the measured "
            "drift below.")
    metrics = {f"{m}_mean[objective={o}]": t.loc[o, f"{m}_mean"] for o in t.index for m in ("cka", "mmd2", "knn_gap")
               if f"{m}_mean" in t}
    return text, metrics
