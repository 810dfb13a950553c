"""Finding 1: masked image modelling (MIM) is more robust to non-IID data than contrastive
learning (CL).

Judged in FL at alpha 0.01 (about one class per client) at the lesson scale: MIM - CL robustness,
paired by seed (each objective's robustness = its non-IID accuracy / its own IID accuracy, so a
method with the higher IID accuracy is not favoured). Beside it, the raw accuracy difference under
non-IID data and at IID: a ratio and a difference can disagree, because CL's IID accuracy is the
higher one here (docs/fidelity.md explains).
"""
from __future__ import annotations

import math
from typing import Sequence

import pandas as pd

from ..config import Config
from . import Finding, Judgement, arm_table, from_paired, measure, paired


class MimAgainstCl(Finding):
    number = 1
    title = "MIM is more robust to non-IID data than CL"
    claim = ("masked image modelling (MIM) keeps more of its IID accuracy than contrastive learning (CL) when "
             "clients' data are non-IID")
    objective = "MIM against CL (SimSiam)"
    statistic_words = "MIM - CL robustness (paired by seed)"
    sesoi = 0.02  # two points of IID accuracy kept: less is not a difference a class would notice
    fixed = dict(topology="fl", alpha=0.01)
    notebook = "03_mim_vs_cl.ipynb"
    doc = "fidelity.md#finding-1-mim-against-cl"

    def arms(self, base: Config) -> list:
        return [(o, base.replace(objective=o, topology="fl")) for o in ("mim", "cl")]

    def where(self, base: Config) -> str:
        return f"{super().where(base)}, FL, robustness against each objective's own FL IID accuracy"

    def statistic(self, rows: pd.DataFrame, base: Config, head: dict) -> Judgement:
        arms = arm_table(rows)
        d = paired(rows, "mim", "cl", "robustness")
        extra = [measure("MIM - CL accuracy, non-IID (raw, not a ratio)", paired(rows, "mim", "cl", "accuracy")),
                 measure("MIM - CL accuracy at IID", paired(rows, "mim", "cl", "iid_accuracy"))]
        if "robustness_all" in rows and rows["robustness_all"].notna().all():
            extra.append(measure("MIM - CL robustness judged on every image (cross-validated kNN)",
                                 paired(rows, "mim", "cl", "robustness_all"), self.sesoi))
        d_z = d.get("cohen_d", math.nan)
        notes = [f"effect size d_z = {d_z:.1f}"] if math.isfinite(d_z) else []
        return from_paired(head, d, arms, self.sesoi, extra, notes)


def alpha_markdown(base: Config, alphas: Sequence[float] = (0.01, 0.03, 0.1, 0.3, 1.0),
                   extra: Sequence[str] = ("mar", "simclr"), table: pd.DataFrame = None) -> str:
    """Robustness against alpha in FL at `base`'s scale: each objective's (mean [95 %] over
    seeds), then finding 1's statistic and verdict at that alpha; IID accuracies and the floor."""
    from . import FINDINGS, label
    from .render import md_table, mean_ci

    if table is None:
        from .. import atlas

        table = atlas.everything()
    objs, body = ("mim", "cl", *extra), []
    for a in alphas:
        j = FINDINGS[1].judge(base.replace(alpha=a), label(table, FINDINGS[1].arms(base.replace(alpha=a))))
        if j.verdict == "not measured":
            continue
        got = label(table, [(o, base.replace(objective=o, alpha=a, topology="fl")) for o in objs])
        cells = [mean_ci(got[got["arm"] == o]["robustness"]) for o in objs]
        d_z = next((n for n in j.notes if n.startswith("effect size")), "").replace("effect size d_z = ", "")
        body.append([f"{a:g}", *cells, j.numbers, d_z, j.verdict])
    if not body:
        return "(not measured: no shipped atlas has these rows)"
    iid = label(table, [(o, base.replace(objective=o, alpha=None, topology="fl")) for o in objs])
    body.append(["IID accuracy", *[mean_ci(iid[iid["arm"] == o]["accuracy"]) for o in objs], "", "", ""])
    body.append(["floor (untrained encoder)", mean_ci(iid["floor"]), *[""] * (len(objs) + 2)])
    return md_table(["alpha", *[o.upper() for o in objs], "MIM - CL (paired) [95 %], seeds", "d_z", "verdict"], body)


def ablation_markdown(base: Config, table: pd.DataFrame = None) -> str:
    """One training choice switched at a time (FL unless said) at `base`'s scale, alpha 0.01: MIM's
    and CL's robustness and finding 1's statistic with each choice."""
    from . import FINDINGS, label
    from .render import md_table

    if table is None:
        from .. import atlas

        table = atlas.everything()
    cases = [("ring, data-size mixing (the paper's)", dict(topology="ring")),
             ("ring, Metropolis mixing", dict(topology="ring", mixing="metropolis")),
             ("complete graph, data-size mixing (the paper's)", dict(topology="complete")),
             ("complete graph, Metropolis mixing", dict(topology="complete", mixing="metropolis")),
             ("FL, unbalanced split, AdamW kept (the preset)", dict()),
             ("FL, balanced split (the paper's)", dict(partition="dirichlet-balanced")),
             ("FL, a new AdamW every round (the paper's)", dict(optimizer_state="fresh"))]
    body = []
    for what, over in cases:
        b = base.replace(alpha=0.01, **over)
        arms = [(o, b.replace(objective=o)) for o in ("mim", "cl")]
        rows = label(table, arms)
        if rows["arm"].nunique() < 2:
            continue
        j = FINDINGS[1].statistic(rows, b, dict(finding=1, claim="", setting="", objective="", statistic="",
                                                sesoi=FINDINGS[1].sesoi))
        arm = j.arms.set_index("arm")
        body.append([what, f"{arm.loc['mim', 'robustness']:.3f}", f"{arm.loc['cl', 'robustness']:.3f}", j.numbers,
                     j.verdict])
    return md_table(["choice", "MIM robustness", "CL robustness", "MIM - CL (paired) [95 %]", "verdict"], body) \
        if body else "(not measured: no shipped atlas has these rows)"


def ratio_and_difference_markdown(base: Config, presets=("live", "live-short")) -> str:
    """Finding 1's ratio beside the raw accuracies at each scale: MIM - CL robustness (the
    statistic), MIM - CL accuracy under skew and at IID, each paired by seed. They disagree when
    one objective's IID accuracy is the higher one: it can lose more of it and still end close."""
    from ..presets import preset
    from . import FINDINGS
    from .render import md_table

    body = []
    for name in presets:
        b = preset(name, **{k: getattr(base, k) for k in ("topology", "alpha")})
        j = FINDINGS[1].judge(b)
        if j.verdict == "not measured":
            continue
        acc, iid = (next(m for m in j.measures if m["name"].startswith(s)) for s in ("MIM - CL accuracy, non", "MIM - CL accuracy at"))
        fmt = lambda m: f"{m['estimate']:+.3f} [{m['interval'][0]:+.3f}, {m['interval'][1]:+.3f}]"
        head = {"estimate": j.estimate, "interval": list(j.interval)}
        body.append([f"`{name}` ({b.rounds * b.local_steps} local steps)", j.seeds, f"{fmt(head)}: {j.verdict}",
                     fmt(acc), fmt(iid)])
    return md_table(["scale", "seeds", "MIM - CL robustness (the statistic)", "MIM - CL accuracy, non-IID",
                     "MIM - CL accuracy at IID"], body) if body else "(not measured)"
