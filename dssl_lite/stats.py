"""Statistics the harness, the notebooks and the explorer share: one definition each.

- **Spread** of a quantity over seeds is its sample standard deviation (`spread`): every "+-"
  in a table, every error bar and every band means +- 1 sd over seeds.
- **Comparisons** of two arms are *paired by seed* (the same seed gives both arms the same data
  split and initial model) and judged by the 95 % t-interval of the mean paired difference
  (scipy's `ttest_rel`), with Cohen's d_z beside it.
- **Verdicts** on a claim come in four words (`verdict`): the interval lies on the claim's side
  ("shows"), the mean does but the interval includes 0 ("points the paper's way but within the
  noise"), the mean does not and the interval includes 0 ("not shown either way"), or the
  interval lies on the other side ("goes the other way"). A claim not rejected is never
  reported as agreement.
- **The floor** is the untrained encoder's accuracy; a run whose IID accuracy is within
  `FLOOR_MARGIN` of it (or below) learned nothing a random encoder lacks (`at_floor`): its
  robustness ratio means nothing.
Pure functions of arrays.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats


FLOOR_MARGIN = 0.02
SHOWS = "shows"
POINTS = "points the paper's way but within the noise"
UNCLEAR = "not shown either way"
OPPOSITE = "goes the other way"
VERDICTS = (SHOWS, POINTS, UNCLEAR, OPPOSITE)


def spread(values: Sequence[float]) -> float:
    """The spread over seeds: the sample standard deviation (0 for a single seed)."""
    v = np.asarray(values, dtype=float)
    return float(v.std(ddof=1)) if len(v) > 1 else 0.0


def at_floor(iid_accuracy: float, floor: float) -> bool:
    """True when a run's IID accuracy is within FLOOR_MARGIN of the untrained encoder's, or below
    it: the objective learned (almost) nothing, so a ratio against it measures nothing."""
    return bool(iid_accuracy < floor + FLOOR_MARGIN)


def verdict(d: dict, sign: int = 1) -> str:
    """One of `VERDICTS` for a paired difference `d` (`paired_difference`) whose claimed sign is
    `sign` (+1: the paper expects it above 0). One seed (no interval) is never more than
    'not shown either way' or 'points the paper's way but within the noise'."""
    mean, lo, hi = sign * d["mean"], d.get("ci_low", math.nan), d.get("ci_high", math.nan)
    if sign < 0:
        lo, hi = -hi, -lo
    if d.get("n", 0) > 1 and math.isfinite(lo) and lo > 0:
        return SHOWS
    if d.get("n", 0) > 1 and math.isfinite(hi) and hi < 0:
        return OPPOSITE
    return POINTS if mean > 0 else UNCLEAR


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
    if s["n"] > 1 and s["std"] > 0:  # the same interval, from scipy's paired t-test
        ci = stats.ttest_rel(a, b).confidence_interval(confidence)
        s["ci_low"], s["ci_high"] = float(ci.low), float(ci.high)
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


def rank_trend(frame: pd.DataFrame, x: str, y: str, by: str = "seed") -> dict:
    """Does `y` rise with `x`? Spearman's rho of y on x within each `by` group (each seed), then
    the mean rho over groups with its t-interval: a trend judged like any paired difference."""
    rhos = [trend(g[x], g[y]) for _, g in frame.groupby(by)]
    rhos = [r for r in rhos if not math.isnan(r)]
    s = summarize(rhos)
    return {**s, "cohen_d": s["mean"] / s["std"] if s["n"] > 1 and s["std"] > 0 else math.nan}


def trend(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman rank correlation of y with x (nan when either is constant)."""
    rx, ry = pd.Series(list(x)).rank(), pd.Series(list(y)).rank()
    if rx.nunique() < 2 or ry.nunique() < 2:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


def describe_difference(d: dict, a: str, b: str, metric: str = "robustness") -> str:
    """One sentence on a `paired_difference` result: the mean difference, its interval, and
    whether the interval excludes 0. One seed is never presented as a finding."""
    head = f"{a} - {b} {metric}: {d['mean']:+.3f}"
    if d["n"] < 2 or not math.isfinite(d.get("ci_low", math.nan)):
        return f"{head} (one seed: no interval, so this is not a finding; run more seeds)"
    ci = f"{d['ci_low']:+.3f} to {d['ci_high']:+.3f}"
    if d["ci_low"] > 0:
        verdict = f"{a} ahead beyond the seed noise"
    elif d["ci_high"] < 0:
        verdict = f"{b} ahead beyond the seed noise"
    else:
        verdict = "the interval includes 0: no difference shown"
    return f"{head} (95 % paired interval {ci}, {d['n']} seeds): {verdict}"
