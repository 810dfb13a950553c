"""Statistics the harness, the notebooks and the explorer share: one definition each.

Every comparison of two arms is *paired by seed* (the same seed gives both arms the same data
split and initial model), so differences are judged by the t-interval of the mean paired
difference (scipy's `ttest_rel`), with Cohen's d_z beside it. Pure functions of arrays.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats


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
