"""The paper's four findings as comparisons over seeds: which runs each trains, and the paired
statistics of their results (pictures and markdown live in `report.py`, the command in `cli.py`).

  1  MIM vs CL robustness across alpha (FL)            diff = rho(mim) - rho(cl) per alpha
  2  DecL robustness across average degree, FL as the   diffs complete - ring, fl - ring, and the
     reference                                          Pearson/Spearman correlation of rho with
                                                        the spectral gap (and the degree)
  3  MAR vs MIM robustness                              diff = rho(mar) - rho(mim)
  4  local-vs-global feature drift, CL vs MIM           diff of linear CKA and of MMD^2

rho = robustness = accuracy(non-IID) / accuracy(IID). Every table carries the random-encoder
floor: a ratio of accuracies at the floor measures nothing an objective learned.

Example:
    >>> frame = run_finding(1, preset("tiny"), seeds=[0, 1], alphas=[0.1])
    >>> analyse(1, frame)["comparisons"]
"""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

import numpy as np
import pandas as pd
import torch

from .config import Config, ConfigError, preset
from .features import linear_cka, local_update  # one definition of drift, shared with the pictures
from .stats import correlation, paired_difference, summarize

TITLES = {1: "MIM is more robust to non-IID data than CL (FL)",
          2: "DecL robustness rises with average connectivity; FL no less robust",
          3: "MAR (MIM + MMD alignment) improves robustness over MIM",
          4: "CL local feature spaces drift from the global more than MIM's"}
TEACH = {1: "teach-mim-vs-cl", 2: "teach-connectivity", 3: "teach-mar", 4: "teach-features"}
PAPER = {1: "paper-mim-vs-cl", 2: "paper-connectivity", 3: "paper-mar", 4: "paper-features"}


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


def floor(cfg: Config, seeds: Optional[Sequence[int]] = None) -> float:
    """The random-encoder floor under the config's own probe, mean over `seeds` (default: its seed)."""
    seeds = [cfg.seed] if seeds is None else seeds
    return float(np.mean([floor_accuracy(cfg.replace(seed=int(s)))[f"global_{cfg.probe}"] for s in seeds]))


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
                       floor=floor(cfg), **run_one(cfg, drift=finding in (1, 4)))
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


def base_config(finding: int, preset_name: Optional[str], overrides: Optional[dict]) -> tuple[str, Config]:
    name = {None: TEACH, "teach": TEACH, "paper": PAPER}.get(preset_name, {finding: preset_name})[finding]
    return name, preset(name, **(overrides or {}))


def reproduce(findings: Sequence[int], seeds: Sequence[int], preset_name: Optional[str] = None,
              alphas=None, degrees=None, overrides: Optional[dict] = None, on_run=None,
              on_seed: Optional[Callable[[dict], None]] = None) -> dict[int, pd.DataFrame]:
    """Run the findings seed by seed (all findings for seed 0, then seed 1, ...), calling
    `on_seed(frames)` after every seed (the CLI rewrites its outputs there, so an interrupted run
    keeps every finished seed).
    `preset_name`: a preset for all findings, or None/"teach"/"paper" for each finding's own.
    Runs that findings share (same config) train once."""
    names = {f: base_config(f, preset_name, overrides) for f in findings}
    frames = {f: pd.DataFrame() for f in findings}
    for seed in seeds:
        for f in findings:
            new = run_finding(f, names[f][1], [seed], alphas, degrees, on_run)
            frames[f] = pd.concat([frames[f], new], ignore_index=True)
        if on_seed:
            on_seed(frames)
    return frames


def merge(dirs: Sequence[str]) -> dict[int, pd.DataFrame]:
    """Pool `finding{N}.csv` from several output folders (seeds run in separate processes or on
    separate machines) -> one frame per finding, each (arm, seed) once."""
    frames: dict[int, pd.DataFrame] = {}
    for f in TITLES:
        parts = [pd.read_csv(p) for d in dirs if (p := Path(d) / f"finding{f}.csv").exists()]
        if parts:
            frame = pd.concat(parts, ignore_index=True).drop_duplicates(subset=["arm", "seed"])
            frames[f] = frame.sort_values(["seed"], kind="stable").reset_index(drop=True)
    return frames
