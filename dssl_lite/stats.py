"""Statistics the harness, the notebooks and the explorer share: one definition each.

- **Spread** of a quantity over seeds is its sample standard deviation (`spread`): every "+-"
  in a table, every error bar and every band means +- 1 sd over seeds.
- **Comparisons** of two arms are *paired by seed* (the same seed gives both arms the same data
  split and initial model) and judged by the 95 % t-interval of the mean paired difference
  (scipy's `ttest_rel`), with Cohen's d_z beside it.
- **Trends** over a graph's connectivity are judged by the slope of a quantity on log2 of the
  average degree within each seed, the slopes' 95 % t-interval over seeds (`slope_trend`), with
  Page's L (`page_trend`), an exact one-sided test of an ordered trend within seeds, beside it.
- **A new run against measured seeds** is judged by the 95 % prediction interval for the mean of
  its seeds (`prediction_interval`), never by +- 1 sd.
- Verdicts in words are the findings' (`findings.verdicts`), not statistics'.
- **The floor** is the untrained encoder's accuracy; a run whose IID accuracy is within
  `FLOOR_MARGIN` of it (or below) learned (almost) nothing a random encoder lacks (`at_floor`):
  its robustness ratio means nothing.
Pure functions of arrays.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

FLOOR_MARGIN = 0.10  # kNN accuracy within 10 points of an untrained encoder's: (almost) nothing learned


def spread(values: Sequence[float]) -> float:
    """The spread over seeds: the sample standard deviation (0 for a single seed)."""
    v = np.asarray(values, dtype=float)
    return float(v.std(ddof=1)) if len(v) > 1 else 0.0


def at_floor(iid_accuracy: float, floor: float) -> bool:
    """True when a run's IID accuracy is within FLOOR_MARGIN of the untrained encoder's, or below
    it: the objective learned (almost) nothing, so a ratio against it measures nothing."""
    return bool(iid_accuracy < floor + FLOOR_MARGIN)


def collapse_warning(accuracy: float, iid_accuracy: float, floor: float) -> str:
    """A run's robustness in context: "" when both accuracies are well above the untrained
    encoder's floor; otherwise one sentence saying what the ratio does not mean."""
    if not all(map(math.isfinite, (accuracy, iid_accuracy, floor))):
        return ""
    if at_floor(iid_accuracy, floor):
        return (f"collapsed: the IID accuracy {iid_accuracy:.3f} is within {FLOOR_MARGIN:.2f} of an untrained "
                f"encoder's ({floor:.3f}), so the objective learned (almost) nothing and its robustness ratio "
                f"means nothing")
    if at_floor(accuracy, floor):
        return (f"the non-IID accuracy {accuracy:.3f} is within {FLOOR_MARGIN:.2f} of an untrained encoder's "
                f"({floor:.3f}): under this skew it learned (almost) nothing")
    return ""


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


def slope_trend(frame: pd.DataFrame, x: str, y: str, by: str = "seed") -> dict:
    """Does `y` rise with `x`? Within each `by` group (each seed), the least-squares slope of y on
    log2(x), so the estimate reads "change in y per doubling of x"; then the mean slope over
    groups with its 95 % t-interval. Unlike a rank correlation its interval is not bounded by
    +-1, and a flat trend gives 0 whatever the noise."""
    slopes = []
    for _, g in frame.groupby(by):
        lx, v = np.log2(g[x].to_numpy(dtype=float)), g[y].to_numpy(dtype=float)
        if len(lx) >= 2 and np.ptp(lx) > 0:
            slopes.append(float(np.polyfit(lx, v, 1)[0]))
    s = summarize(slopes)
    return {**s, "slopes": slopes, "cohen_d": s["mean"] / s["std"] if s["n"] > 1 and s["std"] > 0 else math.nan}


def page_trend(frame: pd.DataFrame, x: str, y: str, by: str = "seed") -> dict:
    """Page's L test of an ordered trend (Page 1963): within each group (seed) rank `y` over the
    levels of `x` in increasing order; L = sum over groups and levels of level rank x y rank. Its
    exact distribution under "no trend" (every within-group ordering equally likely) is the
    convolution of one group's, so both one-sided p-values are exact. -> {"L", "p_rising",
    "p_falling", "groups", "levels"}; groups lacking a level are left out."""
    from itertools import permutations

    levels = sorted(frame[x].unique())
    groups = [g.set_index(x)[y] for _, g in frame.groupby(by)]
    groups = [g for g in groups if set(levels) <= set(g.index)]
    k, n = len(levels), len(groups)
    if k < 2 or n < 1:
        return {"L": math.nan, "p_rising": math.nan, "p_falling": math.nan, "groups": n, "levels": k}
    L = sum(int(np.dot(np.arange(1, k + 1), pd.Series([g[lv] for lv in levels]).rank().to_numpy()))
            for g in groups)
    one: dict[int, int] = {}
    for perm in permutations(range(1, k + 1)):
        v = int(np.dot(np.arange(1, k + 1), perm))
        one[v] = one.get(v, 0) + 1
    dist = {0: 1}
    for _ in range(n):
        nxt: dict[int, int] = {}
        for a, ca in dist.items():
            for b, cb in one.items():
                nxt[a + b] = nxt.get(a + b, 0) + ca * cb
        dist = nxt
    total = sum(dist.values())
    rising = sum(c for v, c in dist.items() if v >= L) / total
    falling = sum(c for v, c in dist.items() if v <= L) / total
    return {"L": L, "p_rising": rising, "p_falling": falling, "groups": n, "levels": k}


def prediction_interval(mean: float, sd: float, measured: int, new: int, confidence: float = 0.95) -> tuple:
    """Where the mean of `new` fresh seeds should fall, given `measured` seeds with this mean and
    sd: mean +- t(measured - 1) x sd x sqrt(1/measured + 1/new). One honest seed falls outside a
    +- 1 sd band about a third of the time; outside this, 5 % of the time."""
    if measured < 2 or not math.isfinite(sd):
        return (math.nan, math.nan)
    half = float(stats.t.ppf((1 + confidence) / 2, measured - 1)) * sd * math.sqrt(1 / measured + 1 / new)
    return (mean - half, mean + half)
