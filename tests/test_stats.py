"""Statistics against hand computations: paired intervals, verdicts, spread, floors, trends."""
import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from dssl_lite.features import linear_cka
from dssl_lite.stats import (OPPOSITE, POINTS, SHOWS, UNCLEAR, at_floor, correlation, describe_difference,
                             paired_difference, rank_trend, spread, summarize, verdict)


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


def test_describe_difference_never_calls_one_seed_a_finding():
    assert "not a finding" in describe_difference(paired_difference([0.9], [0.8]), "mim", "cl")
    assert "mim ahead" in describe_difference(paired_difference([0.9, 0.95, 0.92], [0.8, 0.84, 0.83]), "mim", "cl")
    assert "includes 0" in describe_difference(paired_difference([0.9, 0.8, 0.92], [0.85, 0.84, 0.9]), "mim", "cl")


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


def test_verdicts_are_four_words_and_never_call_not_rejected_agreement():
    assert verdict(paired_difference([0.9, 0.95, 0.92], [0.8, 0.84, 0.83])) == SHOWS
    assert verdict(paired_difference([0.8, 0.84, 0.83], [0.9, 0.95, 0.92])) == OPPOSITE
    assert verdict(paired_difference([0.9, 0.8, 0.92], [0.85, 0.84, 0.9])) == POINTS   # mean > 0, interval has 0
    assert verdict(paired_difference([0.85, 0.84, 0.9], [0.9, 0.8, 0.92])) == UNCLEAR  # mean < 0, interval has 0
    assert verdict(paired_difference([0.9], [0.8])) == POINTS  # one seed: never more than that
    assert verdict(paired_difference([0.8, 0.84, 0.83], [0.9, 0.95, 0.92]), sign=-1) == SHOWS


def test_spread_floor_and_trend():
    assert spread([1.0, 2.0, 3.0]) == pytest.approx(1.0) and spread([5.0]) == 0.0
    assert at_floor(0.43, 0.42) and at_floor(0.30, 0.42) and not at_floor(0.60, 0.42)
    frame = pd.DataFrame({"seed": [0] * 3 + [1] * 3, "x": [1, 2, 3] * 2, "y": [1, 2, 3, 1, 3, 2]})
    t = rank_trend(frame, "x", "y")
    assert t["n"] == 2 and t["mean"] == pytest.approx((1.0 + 0.5) / 2)
