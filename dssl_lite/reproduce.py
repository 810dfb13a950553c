"""`dssl-lite reproduce`: each of the paper's four findings as a comparison over seeds, with honest
statistics (paired by seed), a table and a plot per finding, and the random-encoder floor.

  1  MIM vs CL robustness across alpha (FL)            diff = rho(mim) - rho(cl) per alpha
  2  DecL robustness across average degree, FL as the   diffs complete - ring, fl - ring, and the
     reference                                          Pearson/Spearman correlation of rho with
                                                        the spectral gap (and the degree)
  3  MAR vs MIM robustness                              diff = rho(mar) - rho(mim)
  4  local-vs-global feature drift, CL vs MIM           diff of linear CKA and of MMD^2

rho = robustness = accuracy(non-IID) / accuracy(IID) (DESIGN.md). The statistics are pure
functions (`paired_difference`, `summarize`, `correlation`) kept apart from the running
(`run_finding`), so the notebooks, the CLI, CI's quick run and full-size GPU runs share one path.

Example:
    >>> frame = run_finding(1, preset("tiny"), seeds=[0, 1], alphas=[0.1])
    >>> analyse(1, frame)["comparisons"]
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import time
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

import numpy as np
import pandas as pd
import torch
from scipy import stats

from .config import PRESETS, Config, ConfigError, preset
from .features import linear_cka, local_update  # one definition of drift, shared with the pictures

log = logging.getLogger(__name__)

TITLES = {1: "MIM is more robust to non-IID data than CL (FL)",
          2: "DecL robustness rises with average connectivity; FL no less robust",
          3: "MAR (MIM + MMD alignment) improves robustness over MIM",
          4: "CL local feature spaces drift from the global more than MIM's"}
TEACH = {1: "teach-mim-vs-cl", 2: "teach-connectivity", 3: "teach-mar", 4: "teach-features"}
PAPER = {1: "paper-mim-vs-cl", 2: "paper-connectivity", 3: "paper-mar", 4: "paper-features"}


# ----------------------------------------------------------------------------- statistics (pure)
def summarize(values: Sequence[float], confidence: float = 0.95) -> dict:
    """Mean, sample std (ddof=1) and the t-interval of the mean of `values`."""
    v = np.asarray(values, dtype=float)
    n = len(v)
    mean = float(v.mean()) if n else math.nan
    std = float(v.std(ddof=1)) if n > 1 else math.nan
    half = float(stats.t.ppf((1 + confidence) / 2, n - 1) * std / math.sqrt(n)) if n > 1 else math.nan
    return dict(mean=mean, std=std, ci_low=mean - half, ci_high=mean + half, n=n)


def paired_difference(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> dict:
    """Paired comparison of `a - b` (same seeds, same order): mean and std of the differences,
    the t-interval of the mean difference, and Cohen's d for paired samples, d_z = mean(d) / sd(d)
    (not the pooled-sd d of two independent groups).

    Example:
        >>> paired_difference([0.9, 0.95, 0.92], [0.85, 0.9, 0.9])["mean"]
        0.04
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired_difference: a and b need the same length, got {len(a)} and {len(b)}")
    s = summarize(a - b, confidence)
    if s["n"] > 1 and s["std"] > 0:
        d = s["mean"] / s["std"]
    elif s["n"] > 1 and s["mean"] != 0:
        d = math.copysign(math.inf, s["mean"])
    else:
        d = math.nan
    return {**s, "cohen_d": d}


def correlation(x: Sequence[float], y: Sequence[float]) -> dict:
    """Pearson r and Spearman rho (with their two-sided p-values) of paired observations."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return dict(pearson_r=math.nan, pearson_p=math.nan, spearman_rho=math.nan,
                    spearman_p=math.nan, n=len(x))
    pr, pp = stats.pearsonr(x, y)
    sr, sp = stats.spearmanr(x, y)
    return dict(pearson_r=float(pr), pearson_p=float(pp), spearman_rho=float(sr),
                spearman_p=float(sp), n=len(x))


# ----------------------------------------------------------------------------- the comparisons
def arms(finding: int, base: Config, alphas: Optional[Iterable[float]] = None,
         degrees: Optional[Iterable[int]] = None) -> list[tuple[str, Config]]:
    """The configs one seed of a finding trains, as `(arm label, config)`."""
    if finding == 1:
        alphas = list(alphas) if alphas else [base.alpha]
        return [(f"{obj} a={a:g}", base.replace(objective=obj, alpha=a, topology="fl"))
                for a in alphas for obj in ("mim", "cl")]
    if finding == 2:
        k = base.clients
        degrees = list(degrees) if degrees is not None else [d for d in (4, 6, 10) if 2 < d < k - 1]
        out = [("ring", base.replace(topology="ring", degree=2))]
        out += [(f"regular-{d}", base.replace(topology="regular", degree=d))
                for d in degrees if 2 < d < k - 1 and (k * d) % 2 == 0]
        return out + [("complete", base.replace(topology="complete")), ("fl", base.replace(topology="fl"))]
    if finding == 3:
        return [(obj, base.replace(objective=obj)) for obj in ("mim", "mar")]
    if finding == 4:
        return [(obj, base.replace(objective=obj)) for obj in ("mim", "cl")]
    raise ConfigError("finding", f"got {finding!r}; allowed: 1, 2, 3, 4")


@torch.no_grad()
def _features(sim, params, x):
    from .evaluate import encode

    return encode(sim.model.encoder, {n: t[None] for n, t in sim.encoder_params(params).items()}, x)[0]


def local_drift(sim, n_points: int = 500, seed: int = 0) -> dict:
    """Local-vs-global feature drift as `features.py` defines it: FL locals are one round of local
    training from the global model (`local_update`, never aggregated), DecL locals are what each
    client holds, compared with the consensus. Features on `n_points` test images; -> mean over
    clients of linear CKA (1 = same space up to rotation and scale) and of MMD^2 (0 = same)."""
    from .objectives import mmd2_unbiased

    g = torch.Generator().manual_seed(seed)
    x = sim.data.test_x[torch.randperm(len(sim.data.test_x), generator=g)[:n_points].to(sim.device)]
    ref = _features(sim, sim.global_params(), x)
    stacked = local_update(sim) if sim.federated else sim.params
    ckas, mmds = [], []
    for k in range(sim.cfg.clients):
        f = _features(sim, {n: t[k] for n, t in stacked.items()}, x)
        ckas.append(linear_cka(ref, f))
        mmds.append(float(mmd2_unbiased(ref, f)))
    return dict(cka=float(np.mean(ckas)), mmd2=float(np.mean(mmds)))


_RUNS: dict[str, dict] = {}  # config json (+ drift flag) -> row; shared MIM runs are trained once


def run_one(cfg: Config, drift: bool = True) -> dict:
    """Train one config (non-IID + cached IID baseline) -> a flat row of numbers, with the
    local-vs-global drift (finding 4) of the non-IID run if `drift`. Memoised per config, so the
    MIM/CL runs that findings 1, 3 and 4 share train once per process."""
    from .experiment import run

    key = cfg.to_json()
    if key not in _RUNS or (drift and "cka" not in _RUNS[key]):
        res, sim = run(cfg, keep_simulator=True)
        m = res.metrics
        row = {k: m.get(k, math.nan) for k in ("accuracy", "iid_accuracy", "robustness", "drop",
                                               "global_knn", "global_linear", "heterogeneity",
                                               "spectral_gap", "average_degree")}
        row["consensus_accuracy"] = m.get("consensus_accuracy", math.nan)
        row["seconds"] = res.seconds
        if drift:
            row.update(local_drift(sim, seed=cfg.seed))
        _RUNS[key] = row
    return dict(_RUNS[key])


_FLOORS: dict[str, dict] = {}


def floor_accuracy(cfg: Config) -> dict:
    """The random-encoder floor (both probes) of a config's seed, memoised."""
    from .evaluate import random_encoder_accuracy

    key = cfg.replace(objective="mim", topology="fl", alpha=None).to_json()
    if key not in _FLOORS:
        _FLOORS[key] = random_encoder_accuracy(cfg)
    return _FLOORS[key]


def run_finding(finding: int, base: Config, seeds: Sequence[int], alphas=None, degrees=None,
                on_run: Optional[Callable[[dict], None]] = None) -> pd.DataFrame:
    """Every arm of a finding for every seed -> one row per (arm, seed), with the floor."""
    rows = []
    for seed in seeds:
        for label, cfg in arms(finding, base, alphas, degrees):
            cfg = cfg.replace(seed=seed)
            t0 = time.perf_counter()
            row = dict(finding=finding, dataset=cfg.dataset, arm=label, objective=cfg.objective,
                       alpha=cfg.alpha, topology=cfg.topology, degree=cfg.degree, seed=seed,
                       floor=floor_accuracy(cfg)[f"global_{cfg.probe}"], **run_one(cfg, drift=finding in (1, 4)))
            row["wall"] = time.perf_counter() - t0
            rows.append(row)
            if on_run:
                on_run(row)
    return pd.DataFrame(rows)


def _pairs(frame: pd.DataFrame, a: str, b: str, col: str) -> tuple[np.ndarray, np.ndarray]:
    wide = frame.pivot_table(index="seed", columns="arm", values=col).dropna(subset=[a, b])
    return wide[a].to_numpy(), wide[b].to_numpy()


def analyse(finding: int, frame: pd.DataFrame, confidence: float = 0.95) -> dict:
    """-> {"arms": per-arm summary, "comparisons": paired differences, "correlation": rows or None}."""
    cols = ["accuracy", "iid_accuracy", "robustness"] + (["cka", "mmd2"] if finding == 4 else [])
    arm_rows = []
    for label, g in frame.groupby("arm", sort=False):
        r = {"arm": label, "n": len(g), "floor": g["floor"].mean()}
        for c in cols:
            s = summarize(g[c], confidence)
            r[c], r[c + "_std"] = s["mean"], s["std"]
        if finding == 2:
            r["average_degree"], r["spectral_gap"] = g["average_degree"].mean(), g["spectral_gap"].mean()
        arm_rows.append(r)
    labels = list(dict.fromkeys(frame["arm"]))
    if finding == 1:
        pairs = [(f"mim a={a:g}", f"cl a={a:g}", "robustness") for a in dict.fromkeys(frame["alpha"])]
    elif finding == 2:
        pairs = [(x, y, "robustness") for x, y in (("complete", "ring"), ("fl", "ring"), ("fl", "complete"))]
    elif finding == 3:
        pairs = [("mar", "mim", "robustness"), ("mar", "mim", "accuracy")]
    else:
        pairs = [("mim", "cl", "cka"), ("cl", "mim", "mmd2"), ("mim", "cl", "robustness")]
    comps = []
    for a, b, col in pairs:
        if a in labels and b in labels:
            comps.append({"comparison": f"{a} - {b}", "metric": col,
                          **paired_difference(*_pairs(frame, a, b, col), confidence)})
    corr = None
    if finding == 2:
        decl = frame[frame["topology"] != "fl"]
        corr = pd.DataFrame([{"x": x, "y": "robustness", **correlation(decl[x], decl["robustness"])}
                             for x in ("spectral_gap", "average_degree")])
    return {"arms": pd.DataFrame(arm_rows), "comparisons": pd.DataFrame(comps), "correlation": corr}


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


def _md(df: Optional[pd.DataFrame]) -> str:
    """A GitHub markdown table (no `tabulate` dependency); floats to 4 places."""
    if df is None or not len(df):
        return ""
    cell = lambda v: f"{v:.4f}" if isinstance(v, (float, np.floating)) else str(v)
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    return "\n".join(lines + ["| " + " | ".join(cell(v) for v in r) + " |" for r in df.itertuples(index=False)])


def report(finding: int, frame: pd.DataFrame, base: Config, preset_name: str) -> str:
    """The markdown section for one finding."""
    a = analyse(finding, frame)
    parts = [f"## Finding {finding}: {TITLES[finding]}",
             f"preset `{preset_name}`, dataset `{base.dataset}`, seeds {sorted(set(frame['seed']))}, "
             f"probe {base.probe}; random-encoder floor {frame['floor'].mean():.4f}; "
             f"{frame['wall'].sum():.0f} s of training", "", _md(a["arms"]), "",
             "Paired by seed; 95% t-interval of the mean difference; d = Cohen's d_z (mean/sd of diffs).",
             "", _md(a["comparisons"])]
    if a["correlation"] is not None:
        parts += ["", "Correlation over DecL runs (all seeds pooled):", "", _md(a["correlation"])]
    return "\n".join(parts) + "\n"


def _base(finding: int, preset_name: Optional[str], overrides: Optional[dict]) -> tuple[str, Config]:
    name = {None: TEACH, "teach": TEACH, "paper": PAPER}.get(preset_name, {finding: preset_name})[finding]
    return name, preset(name, **(overrides or {}))


def write(out: str, frames: dict[int, pd.DataFrame], names: dict[int, tuple[str, Config]]) -> str:
    """`finding{N}.csv/.md/.png` and `report.md` under `out`; -> the report's markdown."""
    import matplotlib.pyplot as plt

    d = Path(out)
    d.mkdir(parents=True, exist_ok=True)
    sections = []
    for f, frame in frames.items():
        if not len(frame):
            continue
        name, base = names[f]
        sections.append(report(f, frame, base, name))
        frame.to_csv(d / f"finding{f}.csv", index=False)
        (d / f"finding{f}.md").write_text(sections[-1])
        fig, _ = plot(f, frame)
        fig.savefig(d / f"finding{f}.png", dpi=120)
        plt.close(fig)
    text = "\n".join(sections)
    (d / "report.md").write_text(text)
    return text


def reproduce(findings: Sequence[int], seeds: Sequence[int], preset_name: Optional[str] = None,
              out: Optional[str] = None, alphas=None, degrees=None, overrides: Optional[dict] = None,
              on_run=None) -> dict[int, pd.DataFrame]:
    """Run the findings seed by seed (all findings for seed 0, then seed 1, ...), rewriting the
    outputs under `out` after every seed, so an interrupted run keeps every finished seed.
    `preset_name`: a preset for all findings, or None/"teach"/"paper" for each finding's own.
    Runs that findings share (same config) train once."""
    names = {f: _base(f, preset_name, overrides) for f in findings}
    frames = {f: pd.DataFrame() for f in findings}
    for seed in seeds:
        for f in findings:
            new = run_finding(f, names[f][1], [seed], alphas, degrees, on_run)
            frames[f] = pd.concat([frames[f], new], ignore_index=True)
        if out:
            write(out, frames, names)
    return frames


def merge(dirs: Sequence[str], out: str, preset_name: Optional[str] = None,
          overrides: Optional[dict] = None) -> str:
    """Pool `finding{N}.csv` from several output folders (seeds run in separate processes or on
    separate machines) and write the combined tables and plots to `out`; -> the report."""
    frames: dict[int, pd.DataFrame] = {}
    for f in TITLES:
        parts = [pd.read_csv(p) for d in dirs if (p := Path(d) / f"finding{f}.csv").exists()]
        if parts:
            frame = pd.concat(parts, ignore_index=True).drop_duplicates(subset=["arm", "seed"])
            frames[f] = frame.sort_values(["seed"], kind="stable").reset_index(drop=True)
    return write(out, frames, {f: _base(f, preset_name, overrides) for f in frames})


def _ints(s: str) -> list[int]:
    return [int(v) for v in s.split(",") if v.strip()]


def cmd_reproduce(a) -> int:
    from .cli import config_from_args  # noqa: F401 (same --set semantics as `run`)

    torch.set_num_threads(a.threads)
    findings = _ints(a.finding) if a.finding else [1, 2, 3, 4]
    for f in findings:
        if f not in TITLES:
            raise ConfigError("finding", f"got {f}; allowed: 1, 2, 3, 4")
    if a.preset not in (None, "teach", "paper") and a.preset not in PRESETS:
        raise ConfigError("preset", f"got {a.preset!r}; allowed: teach, paper, {', '.join(PRESETS)}")
    over = {}
    if a.dataset:
        over["dataset"] = a.dataset
    for kv in a.set:
        if "=" not in kv:
            raise ConfigError("set", f"got {kv!r}; expected FIELD=VALUE")
        k, v = kv.split("=", 1)
        over[k.strip()] = None if v.strip().lower() in ("none", "null") else v.strip()
    if a.merge:
        print(merge(a.merge.split(","), a.out or ".", a.preset, over))
        return 0
    seeds = list(range(a.seed0, a.seed0 + a.seeds))
    alphas = [float(v) for v in a.alphas.split(",")] if a.alphas else None
    degrees = _ints(a.degrees) if a.degrees is not None else None
    import sys

    def on_run(row):
        print(f"finding {row['finding']} {row['arm']:<14} seed {row['seed']}: acc {row['accuracy']:.4f} "
              f"iid {row['iid_accuracy']:.4f} rho {row['robustness']:.4f} ({row['wall']:.1f} s)",
              file=sys.stderr, flush=True)

    frames = reproduce(findings, seeds, a.preset, a.out, alphas, degrees, over, on_run)
    if a.json:
        print(json.dumps({f: fr.to_dict("records") for f, fr in frames.items()}, default=float))
    else:
        for f, fr in frames.items():
            name, base = _base(f, a.preset, over)
            print(report(f, fr, base, name))
    return 0


def register_cli(sub) -> None:
    p = sub.add_parser("reproduce", help="the paper's findings over seeds: tables, intervals, plots")
    p.add_argument("--finding", default=None, help="comma list of 1,2,3,4 (default: all)")
    p.add_argument("--seeds", type=int, default=5, help="number of seeds")
    p.add_argument("--seed0", type=int, default=0, help="first seed")
    p.add_argument("--preset", default=None,
                   help="teach (default: each finding's teach-* preset), paper (paper-*), or any preset")
    p.add_argument("--dataset", default=None)
    p.add_argument("--alphas", default=None, help="finding 1: comma list (default: the preset's alpha)")
    p.add_argument("--degrees", default=None, help="finding 2: regular-graph degrees between ring and complete")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    p.add_argument("--out", default=None, help="write csv, markdown and png per finding here")
    p.add_argument("--merge", default=None, metavar="DIR,DIR",
                   help="no training: pool finding*.csv of these folders into --out")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is steadiest on shared CPUs)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_reproduce)
