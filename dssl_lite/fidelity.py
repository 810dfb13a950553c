"""The paper's findings judged on the shipped atlases, as markdown tables.

docs/fidelity.md and the README quote these tables through `docgen` blocks, so a rebuilt atlas
rewrites every quoted number and a test fails while a quote is stale. Each table reads rows
(`atlas.shipped`), labels them with a finding's arms and judges them with `findings.analyse`:
one definition of every comparison, whoever prints it.

"Relative to what?" (finding 2) is answered four ways from the same rows, because every row
records both DecL evaluations and both references:
- `paper`: the data-size-weighted average model, divided by FL's IID accuracy (the paper's code);
- `same-graph`: the averaged model, divided by an IID run on the same graph;
- `local-mean`: the mean of the clients' own models, divided by FL's IID accuracy;
- `local-same-graph`: the local mean, divided by the same graph's IID local mean (this package's
  first definition).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from . import atlas
from .config import preset
from .findings import FINDINGS, analyse
from .runs import with_reference
from .stats import rank_trend, summarize

VIEWS = {"paper": "the averaged model / FL's IID accuracy (the paper's code)",
         "same-graph": "the averaged model / an IID run on the same graph",
         "local-mean": "the clients' own models (mean) / FL's IID accuracy",
         "local-same-graph": "the clients' own models (mean) / the same graph's IID local mean"}


def rows(*names: str) -> pd.DataFrame:
    """The shipped atlases `names` (`live`, `live-drift`, ...) as one table; empty unless every
    one of them is shipped (a table never silently rests on part of what it names)."""
    parts = [atlas.shipped(n) for n in names]
    return pd.concat(parts, ignore_index=True) if all(len(p) for p in parts) else pd.DataFrame()


def mean_ci(values) -> str:
    """`0.907 [0.809, 1.005]`: the mean over seeds and its 95 % t-interval."""
    s = summarize(np.asarray(values, dtype=float))
    return f"{s['mean']:.3f} [{s['ci_low']:.3f}, {s['ci_high']:.3f}]" if s["n"] > 1 else f"{s['mean']:.3f}"


def diff(d: dict) -> str:
    """`+0.086 [-0.016, +0.189]`: a paired difference and its 95 % interval."""
    return f"{d['mean']:+.3f} [{d['ci_low']:+.3f}, {d['ci_high']:+.3f}]"


def _table(header: Sequence[str], body: list) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(map(str, r)) + " |" for r in body])


def _missing(what: str) -> str:
    return f"(not measured: the shipped atlas has no rows for {what})"


def labelled(table: pd.DataFrame, arms: dict) -> pd.DataFrame:
    """The rows of `table` whose setting is one of `arms` ({label: config}), with an `arm` column
    and robustness against FL's IID accuracy (the paper's); empty unless every arm has rows."""
    names = {c.replace(seed=0).train_key(): label for label, c in arms.items()}
    out = table.assign(arm=[names.get(k) for k in table["setting"]]).dropna(subset=["arm"])
    return out.assign(robustness=out["robustness_fl_iid"]) if out["arm"].nunique() == len(arms) else out.iloc[:0]


def _mar_against_mim(table: pd.DataFrame, base, **mar):
    """Finding 3's analysis of `base`'s MIM against its MAR (`mar` overrides), or None if unmeasured."""
    lab = labelled(table, {"mim": base.replace(objective="mim"), "mar": base.replace(**{"objective": "mar", **mar})})
    return analyse(FINDINGS[3], lab) if len(lab) else None


def with_view(table: pd.DataFrame, view: str, iid_rows: pd.DataFrame = None) -> pd.DataFrame:
    """`table` with `robustness` under one of `VIEWS` (FL rows: FL's IID reference in every view);
    `local-same-graph` finds each row's IID run on the same graph in `iid_rows` (default `table`)."""
    if view in ("paper", "same-graph"):
        return with_reference(table, "fl-iid" if view == "paper" else "same-graph")
    fl = table["topology"] == "fl"
    local = table["accuracy_local_mean"].where(~fl, table["accuracy"])
    if view == "local-mean":
        return table.assign(robustness=local / table["fl_iid_accuracy"])
    # the same graph's IID row at the same seed: equal curve key along alpha, alpha NaN
    pool = table if iid_rows is None else iid_rows
    iid = pool[pool["alpha"].isna()].set_index(["key_alpha", "seed"])["accuracy_local_mean"]
    ref = [iid.get((k, s), np.nan) for k, s in zip(table["key_alpha"], table["seed"])]
    return table.assign(robustness=np.where(fl, table["robustness_fl_iid"], local / np.asarray(ref, float)))


def finding1(names: Sequence[str] = ("live",), alphas: Sequence[float] = (0.01, 0.03, 0.1, 0.3, 1.0),
             extra: Sequence[str] = ("mar", "simclr"), preset_name: str = "live") -> str:
    """Robustness against alpha in FL: MIM, CL (and `extra` objectives), and MIM - CL paired."""
    t = rows(*names)
    if not len(t):
        return _missing(", ".join(names))
    base = preset(preset_name)
    body = []
    for a in alphas:
        an = analyse(FINDINGS[1], t, base, alphas=[a])
        if not len(an.comparisons):
            continue
        h = an.headline
        fl = t[(t["topology"] == "fl") & np.isclose(t["alpha"].fillna(-1), a)]
        cells = [mean_ci(fl[fl["objective"] == o]["robustness_fl_iid"]) if (fl["objective"] == o).any() else ""
                 for o in ("mim", "cl", *extra)]
        body.append([f"{a:g}", *cells, diff(h), f"{h['cohen_d']:.2f}", h["verdict"]])
    iid = t[(t["topology"] == "fl") & t["alpha"].isna()]
    body.append(["IID accuracy", *[mean_ci(iid[iid["objective"] == o]["accuracy"]) if (iid["objective"] == o).any()
                                   else "" for o in ("mim", "cl", *extra)], "", "", ""])
    body.append(["floor (untrained encoder)", mean_ci(t["floor"]), *[""] * (len(extra) + 4)])
    return _table(["alpha", "MIM", "CL", *[e.upper() for e in extra], "MIM - CL (paired)", "d_z", "verdict"], body)


def finding2(name: str = "live", alpha: float = 0.01, objectives: Sequence[str] = ("mim", "cl"),
             views: Sequence[str] = tuple(VIEWS)) -> str:
    """Finding 2 at one alpha: per objective and view, every graph's robustness, the rank trend
    with average degree and the paired FL - ring and complete - ring differences."""
    t = rows(name)
    if not len(t):
        return _missing(name)
    body = []
    for obj in objectives:
        base = preset(name, objective=obj, alpha=alpha)
        labelled = FINDINGS[2].label_rows(t, base)
        if labelled["arm"].nunique() < 3:
            continue
        for view in views:
            a = analyse(FINDINGS[2], with_view(labelled, view, t))
            arms = a.arms.set_index("arm")
            comps = a.comparisons.set_index("comparison")
            graphs = " · ".join(f"{arm} {arms.loc[arm, 'robustness']:.3f}" for arm in arms.index)
            tr = a.trend or {}
            gap = rank_trend(with_view(labelled, view, t).query("topology != 'fl'"), "spectral_gap", "robustness") \
                if a.trend is not None else {}
            body.append([obj.upper(), view, graphs, _rho(tr), tr.get("verdict", ""), _rho(gap),
                         diff(comps.loc["fl - ring"]), diff(comps.loc["complete - ring"])])
    if not body:
        return _missing(f"finding 2 at alpha {alpha:g}")
    return _table(["objective", "view", "robustness by graph (mean over seeds)", "rho with average degree [95 %]",
                   "its verdict", "rho with spectral gap", "FL - ring", "complete - ring"], body)


def _rho(t: dict) -> str:
    if not t:
        return "- (needs 3 graphs)"
    return f"{t.get('mean', np.nan):+.2f} [{t.get('ci_low', np.nan):+.2f}, {t.get('ci_high', np.nan):+.2f}]"


def finding3(name: str = "live", settings: Sequence[tuple] = ((0.01, {}), (0.1, {}), (1.0, {}))) -> str:
    """MAR (or a variant) against MIM in FL: robustness, IID accuracy and the paired difference."""
    t = rows(name)
    if not len(t):
        return _missing(name)
    body = []
    for a, over in settings:
        over = dict(over)
        obj = over.pop("objective", "mar")
        an = _mar_against_mim(t, preset(name, alpha=a, topology="fl"), objective=obj, **over)
        if an is None:
            continue
        comps = an.comparisons.set_index("metric")
        arm = an.arms.set_index("arm")
        variant = obj + "".join(f", {k}={v}" for k, v in over.items())
        said = comps.loc["robustness", "verdict"]
        if arm.loc["mar", "at_floor"]:
            said = "collapsed: its IID accuracy is at the untrained encoder's floor, so its ratio means nothing"
        body.append([f"{a:g}", variant, f"{arm.loc['mim', 'robustness']:.3f}", f"{arm.loc['mar', 'robustness']:.3f}",
                     diff(comps.loc["robustness"]), said,
                     f"{arm.loc['mim', 'accuracy']:.3f} / {arm.loc['mar', 'accuracy']:.3f}",
                     diff(comps.loc["accuracy"])])
    if not body:
        return _missing("finding 3")
    return _table(["alpha", "MAR variant", "MIM robustness", "MAR robustness", "MAR - MIM (paired)", "verdict",
                   "accuracy MIM / MAR", "MAR - MIM accuracy"], body)


def finding4(name: str = "live-drift", alpha: float = 0.01) -> str:
    """Local-versus-global feature drift (CKA, MMD^2) per objective, and CL against MIM."""
    t = rows(name)
    if not len(t):
        return _missing(name)
    t = t[np.isclose(t["alpha"].fillna(-1), alpha) & (t["topology"] == "fl")]
    body = [[o.upper(), mean_ci(g["cka"]), mean_ci(g["mmd2"]), mean_ci(g["robustness_fl_iid"])]
            for o, g in t.groupby("objective", sort=False)]
    base = preset(name.replace("-drift", ""), alpha=alpha)
    a = analyse(FINDINGS[4], t, base)
    comps = [[r["comparison"] + f" ({r['metric']})", diff(r), r["verdict"]] for r in a.comparisons.to_dict("records")]
    return (_table(["objective", "CKA local-global (1 = same)", "MMD^2 local-global (0 = same)", "robustness"], body)
            + "\n\n" + _table(["comparison (paired)", "difference [95 %]", "verdict"], comps))


def ablation(alpha: float = 0.01) -> str:
    """One training choice switched at a time between the paper's and this package's earlier one
    (live, alpha 0.01): MIM and CL robustness and MIM - CL, from the live and live-ablation atlases."""
    t = rows("live", "live-ablation")
    if not len(t):
        return _missing("live-ablation")
    body = []
    cases = [("ring, data-size mixing (the paper's)", dict(topology="ring")),
             ("ring, Metropolis mixing (earlier)", dict(topology="ring", mixing="metropolis")),
             ("complete graph, data-size mixing (the paper's)", dict(topology="complete")),
             ("complete graph, Metropolis mixing (earlier)", dict(topology="complete", mixing="metropolis")),
             ("FL, unbalanced split, AdamW kept (the `live` preset)", dict()),
             ("FL, balanced split (the paper's)", dict(partition="dirichlet-balanced")),
             ("FL, a new AdamW every round (the paper's)", dict(optimizer_state="fresh"))]
    for what, over in cases:
        base = preset("live", alpha=alpha, **over)
        lab = labelled(t, {f"{o} a={alpha:g}": base.replace(objective=o) for o in ("mim", "cl")})
        if not len(lab):
            continue
        a = analyse(FINDINGS[1], lab)
        h = a.headline
        arm = a.arms.set_index("arm")
        body.append([what, f"{arm.loc[f'mim a={alpha:g}', 'robustness']:.3f}",
                     f"{arm.loc[f'cl a={alpha:g}', 'robustness']:.3f}", diff(h), h["verdict"]])
    return _table(["choice", "MIM robustness", "CL robustness", "MIM - CL (paired)", "verdict"], body)


# ----- one paragraph per finding, in words, from the same analyses -----
def _headline1(names, alpha, preset_name):
    t = rows(*names)
    if not len(t):
        return None
    a = analyse(FINDINGS[1], t, preset(preset_name), alphas=[alpha])
    return a.headline if len(a.comparisons) else None


def _say(h: dict) -> str:
    return f"{diff(h)} over {h['n']} seeds ({h['verdict']})"


def words1() -> str:
    """Finding 1 in words: the live preset at five and ten seeds, and at twice the training."""
    parts = []
    for what, names, p in (("At the `live` preset", ("live",), "live"),
                           ("With ten seeds", ("live", "live-more-seeds"), "live"),
                           ("At twice the training (`live-long`)", ("live-long",), "live-long")):
        h = _headline1(names, 0.01, p)
        if h is not None:
            parts.append(f"{what}, MIM - CL robustness at alpha 0.01 is {_say(h)}.")
    return "**What it says.** " + " ".join(parts) if parts else _missing("finding 1")


def words2() -> str:
    """Finding 2 in words: the trend and FL - ring under the paper's view and the same-graph one."""
    t = rows("live")
    if not len(t):
        return _missing("live")
    parts = []
    for obj in ("mim", "cl"):
        lab = FINDINGS[2].label_rows(t, preset("live", objective=obj, alpha=0.01))
        if lab["arm"].nunique() < 3:
            continue
        for view in ("paper", "same-graph"):
            a = analyse(FINDINGS[2], with_view(lab, view, t))
            if a.trend is None or not len(a.comparisons):
                continue
            fl = a.comparisons.set_index("comparison").loc["fl - ring"]
            parts.append(f"{obj.upper()}, {view} view: rho with average degree {_rho(a.trend)} ({a.trend['verdict']}); "
                         f"FL - ring {diff(fl)} ({fl['verdict']}).")
    return ("**What it says** (alpha 0.01). " + " ".join(parts) +
            " The same runs under the two references: the definition of robustness decides how the "
            "graphs rank.") if parts else _missing("finding 2")


def words3() -> str:
    """Finding 3 in words: MAR - MIM at the live preset, paper-like and live-long."""
    parts = []
    for what, name, a in (("At `live`, alpha 0.01", "live", 0.01), ("At `paper-like`, alpha 0.1", "paper-like", 0.1)):
        t = rows(name)
        if not len(t):
            continue
        an = _mar_against_mim(t, preset(name, alpha=a, topology="fl"))
        if an is None:
            continue
        c = an.comparisons.set_index("metric")
        collapsed = bool(an.arms.set_index("arm").loc["mar", "at_floor"])
        parts.append(f"{what}, MAR - MIM robustness is {_say(c.loc['robustness'])} and accuracy "
                     f"{diff(c.loc['accuracy'])} ({c.loc['accuracy', 'verdict']})"
                     + (": MAR's IID accuracy is at the untrained encoder's floor (collapsed), so its ratio "
                        "means nothing." if collapsed else "."))
    return "**What it says.** " + " ".join(parts) if parts else _missing("finding 3")


def words4() -> str:
    """Finding 4 in words: CKA and MMD^2, CL against MIM."""
    t = rows("live-drift")
    if not len(t):
        return _missing("live-drift")
    t = t[np.isclose(t["alpha"].fillna(-1), 0.01) & (t["topology"] == "fl")]
    a = analyse(FINDINGS[4], t, preset("live", alpha=0.01))
    return "**What it says.** " + " ".join(f"{r['means']}: {diff(r)} over {r['n']} seeds ({r['verdict']})."
                                           for r in a.comparisons.to_dict("records"))


def summary(link_prefix: str = "") -> str:
    """The four findings in one table: the paper's claim, the headline measured here (the
    `live` preset, alpha 0.01, the paper's definitions), its verdict and the notebook that explains."""
    out = []
    h1 = _headline1(("live", "live-more-seeds"), 0.01, "live")
    t = rows("live")
    h2 = h3 = h4 = None
    if len(t):
        lab = FINDINGS[2].label_rows(t, preset("live", objective="cl", alpha=0.01))
        if lab["arm"].nunique() >= 3:
            h2 = analyse(FINDINGS[2], with_view(lab, "paper", t)).trend
        an = _mar_against_mim(t, preset("live", alpha=0.01, topology="fl"))
        h3 = an.headline if an is not None else None
    d = rows("live-drift")
    if len(d):
        d = d[np.isclose(d["alpha"].fillna(-1), 0.01) & (d["topology"] == "fl")]
        a = analyse(FINDINGS[4], d, preset("live", alpha=0.01))
        h4 = a.headline if len(a.comparisons) else None
    what = {1: "MIM - CL robustness, FL", 2: "CL: rank correlation of robustness with average degree (DecL)",
            3: "MAR - MIM robustness, FL", 4: "MIM - CL similarity of local to global features (CKA)"}
    for n, h in ((1, h1), (2, h2), (3, h3), (4, h4)):
        f = FINDINGS[n]
        measured = f"{what[n]}: {diff(h)}, {h['n']} seeds" if h else "not measured"
        out.append([n, f.claim, measured, f"**{h['verdict']}**" if h else "",
                    f"[{f.notebook.split('.')[0]}]({link_prefix}notebooks/{f.notebook})"])
    return _table(["finding", "the paper claims that", "measured here (`live`, alpha 0.01) [95 %]", "verdict",
                   "notebook"], out)
