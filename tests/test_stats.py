"""Statistics against hand computations: paired intervals, spread, floors, trends (slopes, Page's L
against brute force), prediction intervals, the collapse warning."""
import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from dssl_lite.features import linear_cka
from dssl_lite.stats import (FLOOR_MARGIN, at_floor, collapse_warning, correlation, page_trend, paired_difference,
                             prediction_interval, rank_trend, slope_trend, spread, summarize)


def test_paired_difference_matches_hand_computation():
    a = [0.95, 0.97, 0.93, 0.99, 0.96]
    b = [0.90, 0.91, 0.92, 0.93, 0.89]
    d = [0.05, 0.06, 0.01, 0.06, 0.07]
    n, mean = 5, sum(d) / 5                                   # 0.05
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1))  # sample sd of the differences
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)      # t(0.975, 4) = 2.776...
    r = paired_difference(a, b)
    assert r["n"] == 5
    assert r["mean"] == pytest.approx(0.05)
    assert r["std"] == pytest.approx(sd)
    assert r["ci_low"] == pytest.approx(mean - half)
    assert r["ci_high"] == pytest.approx(mean + half)
    assert r["cohen_d"] == pytest.approx(mean / sd)  # paired d_z
    assert sd == pytest.approx(0.0234521, abs=1e-6) and half == pytest.approx(0.0291198, abs=1e-6)


def test_paired_difference_is_paired_not_pooled():
    # a big shared seed effect: pooled groups overlap, the paired differences are all +0.01
    a = np.array([0.5, 0.7, 0.9, 0.6]) + 0.01
    b = np.array([0.5, 0.7, 0.9, 0.6])
    r = paired_difference(a, b)
    assert r["ci_low"] == pytest.approx(0.01) and r["ci_high"] == pytest.approx(0.01)
    assert r["cohen_d"] == math.inf
    r = paired_difference(b, a)
    assert r["mean"] == pytest.approx(-0.01) and r["cohen_d"] == -math.inf


def test_interval_level_and_edge_cases():
    s90, s99 = summarize([1.0, 2.0, 4.0], 0.90), summarize([1.0, 2.0, 4.0], 0.99)
    assert s99["ci_low"] < s90["ci_low"] < s90["mean"] < s90["ci_high"] < s99["ci_high"]
    one = paired_difference([1.0], [0.5])
    assert one["mean"] == 0.5 and math.isnan(one["std"]) and math.isnan(one["ci_low"])
    assert math.isnan(paired_difference([1.0, 1.0], [1.0, 1.0])["cohen_d"])
    with pytest.raises(ValueError):
        paired_difference([1, 2], [1])


def test_correlation_and_cka():
    x = [0.1, 0.2, 0.5, 1.0]
    c = correlation(x, [1, 2, 3, 10])
    assert c["spearman_rho"] == pytest.approx(1.0) and 0.9 < c["pearson_r"] < 1.0
    assert c["pearson_r"] == pytest.approx(stats.pearsonr(x, [1, 2, 3, 10])[0])
    assert math.isnan(correlation([1, 1, 1], [1, 2, 3])["pearson_r"])
    g = torch.Generator().manual_seed(0)
    f = torch.randn(200, 16, generator=g)
    q, _ = torch.linalg.qr(torch.randn(16, 16, generator=g))
    assert linear_cka(f, 3 * f @ q) == pytest.approx(1.0, abs=1e-5)  # rotation + scale invariant
    assert linear_cka(f, torch.randn(200, 16, generator=g)) < 0.3


def test_spread_floor_and_trend():
    assert spread([1.0, 2.0, 3.0]) == pytest.approx(1.0) and spread([5.0]) == 0.0
    assert at_floor(0.43, 0.42) and at_floor(0.30, 0.42) and not at_floor(0.60, 0.42)
    assert at_floor(0.42 + FLOOR_MARGIN - 0.001, 0.42) and not at_floor(0.42 + FLOOR_MARGIN + 0.001, 0.42)
    frame = pd.DataFrame({"seed": [0] * 3 + [1] * 3, "x": [1, 2, 3] * 2, "y": [1, 2, 3, 1, 3, 2]})
    t = rank_trend(frame, "x", "y")
    assert t["n"] == 2 and t["mean"] == pytest.approx((1.0 + 0.5) / 2)


def test_slope_per_doubling_matches_a_hand_fit():
    frame = pd.DataFrame({"seed": [0] * 3 + [1] * 3, "x": [2, 4, 8] * 2, "y": [0.80, 0.82, 0.84, 0.70, 0.73, 0.76]})
    t = slope_trend(frame, "x", "y")
    assert t["slopes"] == pytest.approx([0.02, 0.03]) and t["mean"] == pytest.approx(0.025)
    assert t["ci_low"] < 0.02 and t["ci_high"] > 0.03   # a t-interval with 1 degree of freedom is wide


def test_pages_l_is_exact():
    """Page's L against brute force: enumerate every within-seed ordering (3 seeds x 3! levels)."""
    from itertools import permutations, product

    y = {0: [1, 3, 2], 1: [1, 2, 3], 2: [2, 1, 3]}
    frame = pd.DataFrame([{"seed": s, "x": i, "y": v} for s, vs in y.items() for i, v in enumerate(vs)])
    got = page_trend(frame, "x", "y")
    L = lambda ranks: sum(sum((i + 1) * r for i, r in enumerate(rs)) for rs in ranks)
    observed = L([pd.Series(vs).rank().tolist() for vs in y.values()])
    every = [L(p) for p in product(permutations([1, 2, 3]), repeat=3)]
    assert got["L"] == observed == 13 + 14 + 13
    assert got["p_rising"] == pytest.approx(sum(v >= observed for v in every) / len(every))
    assert got["p_falling"] == pytest.approx(sum(v <= observed for v in every) / len(every))


def test_prediction_interval_is_wider_than_the_mean_and_narrows_with_seeds():
    lo1, hi1 = prediction_interval(0.9, 0.05, 5, 1)
    lo3, hi3 = prediction_interval(0.9, 0.05, 5, 3)
    half = stats.t.ppf(0.975, 4) * 0.05 * math.sqrt(1 / 5 + 1 / 1)
    assert (lo1, hi1) == pytest.approx((0.9 - half, 0.9 + half))
    assert hi1 - lo1 > hi3 - lo3 > 2 * 0.05 * 0  # one new seed: wider than +-1 sd (2.776 x 1.095 sd)
    assert hi1 - 0.9 > 0.05 * 2.5
    assert math.isnan(prediction_interval(0.9, 0.05, 1, 3)[0])


def test_collapse_warning_names_the_floor():
    assert collapse_warning(0.8, 0.82, 0.42) == ""
    assert "means nothing" in collapse_warning(0.471, 0.488, 0.42)       # the README's MAR example
    assert "under this skew" in collapse_warning(0.45, 0.80, 0.42)
    assert collapse_warning(math.nan, 0.8, 0.42) == ""
