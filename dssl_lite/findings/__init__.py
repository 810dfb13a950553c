"""The paper's four findings: one registry, one judgement each, shown alike on every surface.

A finding is one file here (`mim_vs_cl`, `connectivity`, `mar`, `drift`): a `Finding` that owns
its claim in one sentence, the setting it is judged on (a preset with its objective, alpha,
graphs and reference named), the atlases it reads there, its arms, its statistic with a smallest
effect of interest, and the words. `Finding.judge` turns rows of the runs table into a
`Judgement` whose `verdict` comes from one symmetric scale (`verdicts`); `judgement(n)` is the
finding at its own setting on the shipped atlases. The README, docs/fidelity.md, the explorer,
the notebooks, `dssl-lite findings` and the demo print that judgement, so a finding reads the same
everywhere; a surface that also judges another setting (a slider position, a notebook's own runs)
names the setting beside its verdict.

Example:
    >>> j = judgement(1)
    >>> j.verdict, j.estimate, j.interval, j.seeds
    >>> FINDINGS[1].judge(preset("live", alpha=0.1))   # the same statistic at another setting
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Optional, Sequence

import pandas as pd

from ..config import Config, ConfigError, from_dict
from ..presets import preset
from ..runs import with_reference
from ..stats import at_floor, paired_difference, spread
from . import verdicts as V


@dataclass
class Judgement:
    """One finding judged at one setting: the numbers and the verdict every surface prints."""

    finding: int
    claim: str
    setting: str                    # where it was judged, in words
    objective: str                  # which objective(s), named
    statistic: str                  # what `estimate` is, in words
    estimate: float
    interval: tuple                 # 95 % interval of `estimate`
    seeds: int
    verdict: str
    sesoi: float                    # the smallest effect of interest, in the statistic's unit
    measures: list = field(default_factory=list)  # every other number the words quote (dicts)
    notes: list = field(default_factory=list)     # caveats in words (collapse, equal arms...)
    arms: pd.DataFrame = field(default_factory=pd.DataFrame)  # per arm: n, means, sds, at_floor
    notebook: str = ""
    doc: str = ""

    def as_dict(self) -> dict:
        """Plain values for `dssl-lite findings --json` (no NaN: None instead)."""
        clean = lambda v: None if isinstance(v, float) and not math.isfinite(v) else v
        out = {"finding": self.finding, "claim": self.claim, "setting": self.setting, "objective": self.objective,
               "statistic": self.statistic, "estimate": clean(self.estimate),
               "interval": [clean(v) for v in self.interval], "seeds": self.seeds, "verdict": self.verdict,
               "smallest_effect_of_interest": self.sesoi,
               "measures": [{k: (clean(v) if not isinstance(v, (list, tuple)) else [clean(x) for x in v])
                             for k, v in m.items()} for m in self.measures],
               "notes": list(self.notes), "notebook": self.notebook, "doc": self.doc}
        return out

    @property
    def numbers(self) -> str:
        """`+0.156 [+0.100, +0.212], 5 seeds`, or why there are none."""
        if not math.isfinite(self.estimate):
            return "no rows" if self.verdict == V.NOT_MEASURED else "no estimate"
        lo, hi = self.interval
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return f"{self.estimate:+.3f}, {self.seeds} seed{'s' if self.seeds != 1 else ''} (no interval)"
        return f"{self.estimate:+.3f} [{lo:+.3f}, {hi:+.3f}], {self.seeds} seeds"

    def sentence(self) -> str:
        """The judgement in one line: where, what, the numbers and the verdict."""
        if self.verdict in (V.NOT_MEASURED, V.NO_VERDICT_AT_IID):
            return f"{self.setting}: {self.verdict}."
        return f"{self.setting}: {self.statistic} {self.numbers}: {self.verdict}."


def measure(name: str, d: dict, sesoi: Optional[float] = None, **extra) -> dict:
    """A secondary number for `Judgement.measures`: a paired difference (or trend) with its
    interval, judged on the same scale when `sesoi` is given."""
    out = {"name": name, "estimate": d.get("mean", math.nan),
           "interval": [d.get("ci_low", math.nan), d.get("ci_high", math.nan)], "seeds": int(d.get("n", 0))}
    if sesoi is not None:
        out["verdict"] = V.judge(out["estimate"], *out["interval"], out["seeds"], sesoi)
    return {**out, **extra}


class Finding:
    """A claim of the paper and how this package judges it. Subclasses (one per file) set the
    class attributes and implement `arms` and `statistic`."""

    number: int
    title: str
    claim: str                                  # the paper's claim, one sentence
    objective: str                              # the objective(s) it is judged on, named
    statistic_words: str                        # the headline statistic, in words
    sesoi: float                                # smallest effect of interest (statistic's unit)
    preset_name: str = "live"
    fixed: dict = {}                            # the setting, beside the preset (alpha, topology...)
    drift: bool = False                         # rows need the feature drift
    notebook: str = ""
    doc: str = ""

    # ----- the setting -----
    def base(self, name: Optional[str] = None, **over) -> Config:
        """The config the finding is judged at: its preset (or `name`) with its fixed fields."""
        return preset(name or self.preset_name, **{**self.fixed, **over})

    def at(self, cfg: Config) -> Config:
        """The finding's setting at the scale, alpha and reference of `cfg` (an explorer's draft):
        its fixed fields but alpha applied to `cfg`. The objective it names stays named."""
        return cfg.replace(**{k: v for k, v in self.fixed.items() if k != "alpha"})

    def arms(self, base: Config) -> list[tuple[str, Config]]:
        raise NotImplementedError

    def configs(self, base: Config, seeds: Sequence[int]) -> list[Config]:
        """Every arm at every seed: what `runs.get_or_run` trains to judge `base`."""
        return [c.replace(seed=int(s)) for s in seeds for _, c in self.arms(base)]

    def where(self, base: Config) -> str:
        """The setting in words: preset scale, graph, alpha, reference."""
        alpha = "IID" if base.alpha is None else f"alpha {base.alpha:g}"
        split = "" if base.partition == "dirichlet" else ", balanced split"
        return (f"{base.dataset}, {base.clients} clients{split}, {base.rounds * base.local_steps} local steps, "
                f"{alpha}")

    # ----- the rows -----
    def rows(self, base: Config, table: Optional[pd.DataFrame] = None) -> pd.DataFrame:
        """Rows of `table` (default: every shipped atlas) whose setting is one of
        `base`'s arms, with an `arm` column and `robustness` against `base.reference`."""
        if table is None:
            from .. import atlas

            table = atlas.everything()
        return label(table, self.arms(base), base.reference)

    # ----- judging -----
    def judge(self, base: Optional[Config] = None, rows: Optional[pd.DataFrame] = None) -> Judgement:
        """This finding at `base` (default: its own setting), on `rows` (rows of the runs table,
        labelled here; default: the shipped atlases)."""
        base = base or self.base()
        head = dict(finding=self.number, claim=self.claim, setting=self.where(base), objective=self.objective,
                    statistic=self.statistic_words, sesoi=self.sesoi, notebook=self.notebook, doc=self.doc)
        if base.alpha is None:
            return Judgement(**head, estimate=math.nan, interval=(math.nan, math.nan), seeds=0,
                             verdict=V.NO_VERDICT_AT_IID,
                             notes=["at IID there is nothing to lose, so there is nothing to compare"])
        rows = self.rows(base) if rows is None else (rows if "arm" in rows else label(rows, self.arms(base), base.reference))
        labels = [a for a, _ in self.arms(base)]
        if rows.empty or set(rows["arm"]) < set(self.needed(labels)):
            return Judgement(**head, estimate=math.nan, interval=(math.nan, math.nan), seeds=0,
                             verdict=V.NOT_MEASURED, arms=arm_table(rows) if len(rows) else pd.DataFrame())
        return self.statistic(rows, base, head)

    def needed(self, labels: list) -> list:
        """The arms without which nothing can be said (default: all of them)."""
        return labels

    def statistic(self, rows: pd.DataFrame, base: Config, head: dict) -> Judgement:
        raise NotImplementedError


# ----- helpers the findings share -----
def setting_of(cfg: Config) -> str:
    """What trains, seed aside (the headline choices `reference` and `decl_eval` read columns)."""
    return cfg.replace(seed=0).train_key()


def label(table: pd.DataFrame, arms: list, reference: str = "fl-iid") -> pd.DataFrame:
    """The rows of `table` whose setting is one of `arms` ([(label, config)]), with an `arm`
    column, sorted by arm then seed, `robustness` against `reference` (every row records both)."""
    if table is None or not len(table):
        return pd.DataFrame(columns=["arm", "seed", "robustness"])
    names = {setting_of(c): a for a, c in arms}
    order = {a: i for i, (a, _) in enumerate(arms)}
    settings = table["setting"] if "setting" in table else [setting_of(from_dict(json.loads(c))) for c in table["config"]]
    out = table.assign(arm=[names.get(k) for k in settings]).dropna(subset=["arm"])
    if reference == "same-graph" and "robustness_same_graph" in out:
        out = with_reference(out, "same-graph")
    elif "robustness_fl_iid" in out:
        out = with_reference(out, "fl-iid")
    return out.assign(_order=out["arm"].map(order)).sort_values(["_order", "seed"], kind="stable") \
              .drop(columns="_order").reset_index(drop=True)


METRICS = ("accuracy", "iid_accuracy", "robustness", "robustness_all", "accuracy_all", "cka", "mmd2",
           "average_degree", "spectral_gap")


def arm_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per arm: seeds, the floor, mean and sd of every metric, and whether it collapsed."""
    out = []
    for arm, g in rows.groupby("arm", sort=False):
        r = {"arm": arm, "n": len(g), "floor": float(g["floor"].mean()) if "floor" in g else math.nan}
        for m in METRICS:
            if m in g and g[m].notna().any():
                r[m], r[m + "_sd"] = float(g[m].mean()), spread(g[m].dropna())
        r["at_floor"] = at_floor(r.get("iid_accuracy", math.nan), r["floor"]) if "iid_accuracy" in r else False
        out.append(r)
    return pd.DataFrame(out)


def paired(rows: pd.DataFrame, a: str, b: str, col: str) -> dict:
    """`a - b` in `col`, paired by seed over the seeds both arms have."""
    wide = rows.pivot_table(index="seed", columns="arm", values=col)
    if a not in wide or b not in wide:
        return {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": 0}
    wide = wide.dropna(subset=[a, b])
    return paired_difference(wide[a].to_numpy(), wide[b].to_numpy()) if len(wide) else \
        {"mean": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": 0}


def collapse_notes(arms: pd.DataFrame) -> list[str]:
    """One sentence per arm that learned nothing a random encoder lacks."""
    bad = arms[arms["at_floor"]]["arm"].tolist() if "at_floor" in arms else []
    return [f"{a} collapsed (IID accuracy {arms.set_index('arm').loc[a, 'iid_accuracy']:.3f}, at the untrained "
            f"encoder's floor {arms.set_index('arm').loc[a, 'floor']:.3f}): its ratio means nothing" for a in bad]


def from_paired(head: dict, d: dict, arms: pd.DataFrame, sesoi: float, measures=(), notes=()) -> Judgement:
    """A `Judgement` whose headline is a paired difference `d`; a collapsed arm overrides the verdict."""
    collapsed = collapse_notes(arms)
    verdict = V.COLLAPSED if collapsed else V.judge(d["mean"], d.get("ci_low", math.nan), d.get("ci_high", math.nan),
                                                     int(d.get("n", 0)), sesoi)
    return Judgement(**head, estimate=float(d["mean"]), interval=(float(d.get("ci_low", math.nan)),
                     float(d.get("ci_high", math.nan))), seeds=int(d.get("n", 0)), verdict=verdict,
                     measures=list(measures), notes=[*collapsed, *notes], arms=arms)


# ----- the registry -----
from .connectivity import Connectivity  # noqa: E402  (the findings import the helpers above)
from .drift import Drift  # noqa: E402
from .mar import MarAgainstMim  # noqa: E402
from .mim_vs_cl import MimAgainstCl  # noqa: E402

FINDINGS: dict[int, Finding] = {f.number: f for f in (MimAgainstCl(), Connectivity(), MarAgainstMim(), Drift())}


def get(number) -> Finding:
    if number not in FINDINGS:
        raise ConfigError("finding", f"got {number!r}; allowed: {', '.join(map(str, FINDINGS))}")
    return FINDINGS[number]


def judgement(number: int) -> Judgement:
    """Finding `number` at its own setting, on the shipped atlases: the verdict every surface prints."""
    return get(number).judge()


def judgements() -> list[Judgement]:
    return [judgement(n) for n in FINDINGS]


def as_json() -> list[dict]:
    """What `dssl-lite findings --json` prints: one object per finding."""
    return [j.as_dict() for j in judgements()]
