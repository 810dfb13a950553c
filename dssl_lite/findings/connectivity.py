"""Finding 2: decentralised learning (DecL) gets more robust as the graph gets better connected, so
federated learning (FL) is no less robust than any graph.

Judged for MIM at alpha 0.01 on the paper's graphs (its `-mc` graph: a random tree, then edges
until every client has `degree` neighbours, with its data-size mixing) from the ring to the complete
graph, robustness on the paper's one scale (each graph's averaged model / FL's IID accuracy).
The statistic is the slope of robustness on log2 of the average degree within each seed (change
per doubling of the neighbours), its 95 % t-interval over seeds; Page's L, an exact test of an
ordered trend within seeds, is beside it, with FL - ring and the same runs judged against an IID
run on the same graph (the reference decides the direction: docs/fidelity.md).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..config import Config
from ..stats import page_trend, slope_trend
from . import Finding, Judgement, arm_table, collapse_notes, label, measure, paired
from . import verdicts as V

DEGREES = (2, 4, 8)

# "Relative to what?": four ways to read the same rows (every row records both DecL evaluations
# and both references).
VIEWS = {"paper": "the averaged model / FL's IID accuracy (the paper's code's model, this package's one scale)",
         "same-graph": "the averaged model / an IID run on the same graph",
         "local-mean": "the clients' own models (mean) / FL's IID accuracy",
         "local-same-graph": "the clients' own models (mean) / the same graph's IID local mean"}


def graph_arms(base: Config, degrees=DEGREES) -> list:
    """The paper's graphs with its data-size mixing, from the ring to the complete graph, then FL."""
    k, dec = base.clients, base.replace(mixing="size", participation=1.0)  # gossip clients all take part
    out = [("ring", dec.replace(topology="ring"))]
    out += [(f"min-degree {d}", dec.replace(topology="min_degree", degree=d)) for d in degrees if d < k - 1]
    return out + [("complete", dec.replace(topology="complete")), ("fl", base.replace(topology="fl"))]


class Connectivity(Finding):
    number = 2
    title = "DecL robustness rises with connectivity; FL no less robust"
    claim = ("decentralised learning gets more robust as the graph gets better connected, so federated learning "
             "(everyone averaged by a server) is no less robust than any graph")
    objective = "MIM"
    statistic_words = "change in MIM robustness per doubling of the average degree (DecL graphs, slope within seeds)"
    sesoi = 0.01  # one point of IID accuracy per doubling of the neighbours
    fixed = dict(alpha=0.01, objective="mim", participation=1.0)  # gossip clients all take part
    notebook = "04_connectivity.ipynb"
    doc = "fidelity.md#finding-2-connectivity"

    def arms(self, base: Config) -> list:
        return graph_arms(base)

    def needed(self, labels: list) -> list:
        return ["ring", "complete"]  # a trend needs its two ends (and a third graph: checked below)

    def where(self, base: Config) -> str:
        ref = {"fl-iid": "FL's IID accuracy", "same-graph": "an IID run on the same graph"}[base.reference]
        model = {"average": "the averaged model", "local-mean": "the clients' own models"}[base.decl_eval]
        return f"{super().where(base)}, the paper's graphs (data-size mixing) and FL, {model} / {ref}"

    def statistic(self, rows: pd.DataFrame, base: Config, head: dict) -> Judgement:
        arms = arm_table(rows)
        decl = rows[rows["arm"] != "fl"]
        if decl["arm"].nunique() < 3:
            return Judgement(**head, estimate=math.nan, interval=(math.nan, math.nan), seeds=0,
                             verdict=V.NOT_MEASURED, arms=arms, notes=["a trend needs three graphs or more"])
        t = slope_trend(decl, "average_degree", "robustness")
        order = {a: i for i, a in enumerate(dict.fromkeys(decl["arm"]))}
        page = page_trend(decl.assign(level=decl["arm"].map(order)), "level", "robustness")
        extra = [measure("Page's L, rising with connectivity (exact one-sided p)", {"mean": page["p_rising"], "n": page["groups"]},
                         p_falling=page["p_falling"]),
                 measure("FL - ring robustness", paired(rows, "fl", "ring", "robustness"), 0.02),
                 measure("complete - ring robustness", paired(rows, "complete", "ring", "robustness"), 0.02)]
        notes = collapse_notes(arms)
        same = _equal_arms(rows, "complete", "fl")
        if same:
            notes.append("the complete graph with data-size mixing is FedAvg: its numbers equal FL's to every digit, "
                         "so it adds no evidence beyond FL")
        verdict = V.COLLAPSED if notes and "collapsed" in notes[0] else \
            V.judge(t["mean"], t["ci_low"], t["ci_high"], t["n"], self.sesoi)
        return Judgement(**head, estimate=t["mean"], interval=(t["ci_low"], t["ci_high"]), seeds=t["n"],
                         verdict=verdict, measures=extra, notes=notes, arms=arms)


def _equal_arms(rows: pd.DataFrame, a: str, b: str) -> bool:
    wide = rows.pivot_table(index="seed", columns="arm", values="robustness")
    if a not in wide or b not in wide:
        return False
    both = wide[[a, b]].dropna()
    return len(both) > 0 and bool(np.array_equal(both[a].to_numpy(), both[b].to_numpy()))


def with_view(table: pd.DataFrame, view: str, iid_rows: pd.DataFrame = None) -> pd.DataFrame:
    """`table` with `robustness` under one of `VIEWS` (FL rows: FL's IID reference in every view);
    `local-same-graph` finds each row's IID run on the same graph in `iid_rows` (default `table`)."""
    from ..runs import with_reference

    if view in ("paper", "same-graph"):
        return with_reference(table, "fl-iid" if view == "paper" else "same-graph")
    fl = table["topology"] == "fl"
    local = table["accuracy_local_mean"].where(~fl, table["accuracy"])
    if view == "local-mean":
        return table.assign(robustness=local / table["fl_iid_accuracy"])
    pool = table if iid_rows is None else iid_rows
    iid = pool[pool["alpha"].isna()].set_index(["key_alpha", "seed"])["accuracy_local_mean"]
    ref = [iid.get((k, s), np.nan) for k, s in zip(table["key_alpha"], table["seed"])]
    return table.assign(robustness=np.where(fl, table["robustness_fl_iid"], local / np.asarray(ref, float)))


def views(table: pd.DataFrame, base: Config) -> list:
    """Finding 2's statistic at `base` under every view of `VIEWS` -> [(view, Judgement)]."""
    from . import FINDINGS

    f = FINDINGS[2]
    rows = label(table, f.arms(base), "fl-iid")
    if not len(rows):
        return []
    return [(v, f.judge(base, with_view(rows, v, table))) for v in VIEWS]


def views_markdown(base: Config, objectives=("mim", "cl"), table: pd.DataFrame = None) -> str:
    """Finding 2's statistic for each objective under each view of `VIEWS`: every graph's
    robustness, the slope per doubling of the degree with its verdict, and FL - ring."""
    from .render import md_table

    if table is None:
        from .. import atlas

        table = atlas.everything()
    body = []
    for obj in objectives:
        for view, j in views(table, base.replace(objective=obj)):
            if j.verdict == V.NOT_MEASURED:
                continue
            graphs = " · ".join(f"{r['arm']} {r['robustness']:.3f}" for r in j.arms.to_dict("records"))
            fl = next(m for m in j.measures if m["name"].startswith("FL - ring"))
            page = next(m for m in j.measures if m["name"].startswith("Page"))
            body.append([obj.upper(), view, graphs, j.numbers, j.verdict, f"{page['estimate']:.3f}",
                         f"{fl['estimate']:+.3f} [{fl['interval'][0]:+.3f}, {fl['interval'][1]:+.3f}]"])
    if not body:
        return "(not measured: no shipped atlas has these rows)"
    return md_table(["objective", "view", "robustness by graph (mean over seeds)", "per doubling of the degree [95 %]",
                     "verdict", "Page's L p (rising)", "FL - ring"], body)
