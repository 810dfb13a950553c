"""The paper's four findings as declarative specs, and one `analyse` that judges any of them.

A `Finding` names its arms (the configs one seed trains, each with a label), the paired
comparisons the paper's claim predicts (`a - b` above 0) and, for finding 2, a trend (robustness
should rise with average degree). `analyse(finding, rows)` reads rows of the runs table
(`runs.get_or_run`) and returns per-arm summaries and every comparison with its paired 95 %
interval and a verdict in words (`stats.verdict`); `report.render` writes it for people. `demo`,
`reproduce`, the notebooks' conclusions and the explorer's paper-versus-measured line all go
through here, so each claim is judged one way.

Example:
    >>> f = FINDINGS[1]
    >>> rows = get_or_run(f.configs(preset("tiny"), seeds=[0, 1]))
    >>> analyse(f, rows, preset("tiny")).headline
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np
import pandas as pd

from .config import Config, ConfigError, from_dict, preset
from .runs import with_reference
from .stats import (UNCLEAR, at_floor, paired_difference, rank_trend, spread,
                    verdict)


@dataclass(frozen=True)
class Comparison:
    """`a - b` in `metric`, paired by seed; the paper predicts it above 0 (`sign` +1)."""

    a: str
    b: str
    metric: str = "robustness"
    means: str = ""       # what a positive difference means, in words

    @property
    def label(self) -> str:
        return f"{self.a} - {self.b}"


@dataclass(frozen=True)
class Finding:
    number: int
    title: str
    claim: str                                  # the paper's claim, in plain words
    arms: Callable[..., list]                   # (base, **options) -> [(label, config)], one seed
    comparisons: Callable[[list], list]         # arm labels -> [Comparison], the headline first
    trend: Optional[tuple] = None               # (x, y): y should rise with x over the DecL arms
    drift: bool = False                         # rows need the feature drift (finding 4)
    notebook: str = ""
    doc: str = ""                               # its section of docs/fidelity.md

    def configs(self, base: Config, seeds: Sequence[int], **options) -> list[Config]:
        return [c.replace(seed=int(s)) for s in seeds for _, c in self.arms(base, **options)]

    def label_rows(self, rows: pd.DataFrame, base: Config, **options) -> pd.DataFrame:
        """`rows` with an `arm` column (the arm each row's setting belongs to; others dropped) and
        `robustness` against `base`'s `reference` (every row records both)."""
        arms = self.arms(base, **options)
        names = {_setting(c): label for label, c in arms}
        order = {label: i for i, (label, _) in enumerate(arms)}
        settings = rows["setting"] if "setting" in rows else [_setting(from_dict(json.loads(c))) for c in rows["config"]]
        out = rows.assign(arm=[names.get(k) for k in settings]).dropna(subset=["arm"])
        if base.reference == "same-graph" and "robustness_same_graph" in out:
            out = with_reference(out, "same-graph")
        return out.assign(_order=out["arm"].map(order)).sort_values(["_order", "seed"], kind="stable") \
                  .drop(columns="_order").reset_index(drop=True)


def _setting(cfg: Config) -> str:
    """What trains, seed aside (the headline choices, `reference` and `decl_eval`, read columns)."""
    return cfg.replace(seed=0).train_key()


# ----- the four findings -----
def _mim_vs_cl(base: Config, alphas=None, **_) -> list:
    alphas = list(alphas) if alphas else [base.alpha]
    return [(f"{obj} a={a:g}", base.replace(objective=obj, alpha=a, topology="fl"))
            for a in alphas for obj in ("mim", "cl")]


def _connectivity(base: Config, degrees=None, **_) -> list:
    """The paper's graphs (a random tree, then edges until every client has `degree`
    neighbours) with its data-size mixing, from the ring to the complete graph, and FL."""
    k = base.clients
    degrees = list(degrees) if degrees is not None else [d for d in (2, 4, 8) if d < k - 1]
    dec = base.replace(mixing="size")
    out = [("ring", dec.replace(topology="ring"))]
    out += [(f"min-degree {d}", dec.replace(topology="min_degree", degree=d)) for d in degrees if d < k - 1]
    return out + [("complete", dec.replace(topology="complete")), ("fl", base.replace(topology="fl"))]


def _pair(objectives: tuple) -> Callable:
    return lambda base, **_: [(obj, base.replace(objective=obj)) for obj in objectives]


FINDINGS: dict[int, Finding] = {f.number: f for f in (
    Finding(1, "MIM is more robust to non-IID data than CL (FL)",
            "masked image modelling (MIM) keeps more of its IID accuracy than contrastive learning "
            "(CL) when clients' data are non-IID",
            _mim_vs_cl,
            lambda labels: [Comparison(a, a.replace("mim", "cl", 1), "robustness", "MIM more robust")
                            for a in labels if a.startswith("mim ")],
            notebook="03_mim_vs_cl.ipynb", doc="fidelity.md#finding-1-mim-against-cl"),
    Finding(2, "DecL robustness rises with average connectivity; FL no less robust",
            "decentralised learning gets more robust as the graph gets better connected, so "
            "federated learning (everyone averaged by a server) is no less robust than any graph",
            _connectivity,
            lambda labels: [Comparison("complete", "ring", "robustness", "the densest graph more robust"),
                            Comparison("fl", "ring", "robustness", "FL more robust than the ring")],
            trend=("average_degree", "robustness"),
            notebook="04_connectivity.ipynb", doc="fidelity.md#finding-2-connectivity"),
    Finding(3, "MAR improves robustness over MIM",
            "MAR (MIM plus an alignment of local features to the global ones) is more robust than "
            "MIM alone", _pair(("mim", "mar")),
            lambda labels: [Comparison("mar", "mim", "robustness", "MAR more robust"),
                            Comparison("mar", "mim", "accuracy", "MAR more accurate")],
            notebook="05_mar.ipynb", doc="fidelity.md#finding-3-mar-against-mim"),
    Finding(4, "CL local feature spaces drift from the global more than MIM's",
            "clients' local feature spaces drift further from the global model's under CL than under MIM",
            _pair(("mim", "cl")),
            lambda labels: [Comparison("mim", "cl", "cka", "MIM's local features closer to the global (CKA)"),
                            Comparison("cl", "mim", "mmd2", "CL's local features further (MMD^2)")],
            drift=True, notebook="06_feature_spaces.ipynb", doc="fidelity.md#finding-4-feature-drift"),
)}
TEACH = {1: "teach-mim-vs-cl", 2: "teach-connectivity", 3: "teach-mar", 4: "teach-features"}
PAPER = {1: "paper-mim-vs-cl", 2: "paper-connectivity", 3: "paper-mar", 4: "paper-features"}


def get(number: int) -> Finding:
    if number not in FINDINGS:
        raise ConfigError("finding", f"got {number!r}; allowed: 1, 2, 3, 4")
    return FINDINGS[number]


def base_config(finding: int, preset_name: Optional[str], overrides: Optional[dict]) -> tuple[str, Config]:
    """A finding's starting config: a named preset for all findings, or each finding's own
    teaching (`None`/"teach") or paper-scale ("paper") preset."""
    name = {None: TEACH, "teach": TEACH, "paper": PAPER}.get(preset_name, {finding: preset_name})[finding]
    return name, preset(name, **(overrides or {}))


# ----- judging -----
@dataclass
class Analysis:
    """What the runs say about one finding: per-arm numbers, paired comparisons, the trend."""

    finding: Finding
    arms: pd.DataFrame          # arm, n, floor, at_floor and mean / sd of each metric
    comparisons: pd.DataFrame   # comparison, metric, mean, ci_low, ci_high, n, cohen_d, verdict
    trend: Optional[dict] = None
    notes: list = field(default_factory=list)

    @property
    def headline(self) -> dict:
        """The comparison (or trend) the claim rests on, with its verdict."""
        if self.trend is not None:
            return self.trend
        return self.comparisons.iloc[0].to_dict() if len(self.comparisons) else {"verdict": UNCLEAR, "n": 0}

    @property
    def verdict(self) -> str:
        return self.headline["verdict"]


def analyse(finding: Finding, rows: pd.DataFrame, base: Optional[Config] = None, **options) -> Analysis:
    """Judge `finding` on rows of the runs table (labelled by arm, or labelled here from `base`)."""
    if "arm" not in rows:
        rows = finding.label_rows(rows, base, **options)
    metrics = ["accuracy", "iid_accuracy", "robustness"] + (["cka", "mmd2"] if finding.drift else [])
    arm_rows, collapsed = [], set()
    for label, g in rows.groupby("arm", sort=False):
        r = {"arm": label, "n": len(g), "floor": float(g["floor"].mean())}
        for m in metrics + ["average_degree", "spectral_gap"]:
            if m in g:
                r[m], r[m + "_sd"] = float(g[m].mean()), spread(g[m])
        r["at_floor"] = at_floor(r["iid_accuracy"], r["floor"])
        if r["at_floor"]:
            collapsed.add(label)
        arm_rows.append(r)
    labels = list(dict.fromkeys(rows["arm"]))
    comps, notes = [], []
    for c in finding.comparisons(labels):
        if c.a not in labels or c.b not in labels:
            continue
        a, b = _paired(rows, c.a, c.b, c.metric)
        if not len(a):
            continue  # neither arm has this metric at a common seed
        d = paired_difference(a, b)
        v = verdict(d)
        bad = collapsed & {c.a, c.b}
        if bad and c.metric in ("robustness", "accuracy"):
            v = UNCLEAR
            notes.append(f"{', '.join(sorted(bad))} collapsed (IID accuracy at the untrained encoder's "
                         f"floor): its ratio means nothing, so {c.label} proves nothing either way.")
        comps.append({"comparison": c.label, "metric": c.metric, "means": c.means, **d, "verdict": v})
    trend = None
    if finding.trend is not None:
        x, y = finding.trend
        decl = rows[rows["topology"] != "fl"]
        if decl["arm"].nunique() >= 3:
            t = rank_trend(decl, x, y)
            trend = {"comparison": f"rank correlation of {y} with {x} (DecL graphs, per seed)",
                     "metric": "spearman", **t, "verdict": verdict(t)}
    return Analysis(finding, pd.DataFrame(arm_rows), pd.DataFrame(comps), trend, notes)


def _paired(rows: pd.DataFrame, a: str, b: str, col: str) -> tuple[np.ndarray, np.ndarray]:
    wide = rows.pivot_table(index="seed", columns="arm", values=col)
    if a not in wide or b not in wide:
        return np.array([]), np.array([])
    wide = wide.dropna(subset=[a, b])
    return wide[a].to_numpy(), wide[b].to_numpy()


def measure(finding: Finding, base: Config, seeds: Sequence[int], store=None, preset_name: str = "",
            on_group=None, **options) -> pd.DataFrame:
    """The rows of every arm of `finding` at every seed (labelled), from `store` or trained."""
    from .runs import get_or_run

    rows = get_or_run(finding.configs(base, seeds, **options), store, preset_name, drift=finding.drift,
                      on_group=on_group)
    return finding.label_rows(rows, base, **options)
