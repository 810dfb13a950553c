"""The findings harness: statistics against hand computations, a quick end-to-end run on `tiny`,
the full-size check behind --runslow, and the `patches` synthetic dataset."""
import math

import numpy as np
import pytest
import torch
from scipy import stats

from dssl_lite import preset
from dssl_lite.features import linear_cka
from dssl_lite.findings import analyse, arms, base_config, merge, reproduce
from dssl_lite.report import write_findings
from dssl_lite.stats import correlation, describe_difference, paired_difference, summarize
from dssl_lite.synthetic import dct_basis, generate


# ---------------------------------------------------------------- statistics, by hand
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


def test_arms_cover_each_finding():
    base = preset("tiny", clients=12)
    f2 = dict(arms(2, base))
    assert list(f2) == ["ring", "regular-4", "regular-6", "regular-10", "complete", "fl"]
    assert [c.alpha for _, c in arms(1, base, alphas=[0.05, 1.0])] == [0.05, 0.05, 1.0, 1.0]
    assert {c.objective for _, c in arms(3, base)} == {"mim", "mar"}
    assert {c.objective for _, c in arms(4, base)} == {"mim", "cl"}


# ---------------------------------------------------------------- the harness, quick (CI)
def test_quick_reproduce_on_tiny(tmp_path):
    over = dict(device="cpu", dataset="patches")
    names = {f: base_config(f, "tiny", over) for f in (1, 2, 3, 4)}
    frames = reproduce([1, 2, 3, 4], seeds=[0, 1], preset_name="tiny", alphas=[0.1], overrides=over,
                       on_seed=lambda fr: write_findings(str(tmp_path), fr, names))
    for f in (1, 2, 3, 4):
        fr = frames[f]
        assert (fr["robustness"] > 0).all() and fr["floor"].between(0, 1).all()
        assert (tmp_path / f"finding{f}.csv").exists() and (tmp_path / f"finding{f}.png").exists()
        comps = analyse(f, fr)["comparisons"]
        assert len(comps) and (comps["n"] == 2).all()
    assert set(frames[4]["cka"]) and frames[4]["cka"].between(0, 1.0001).all()
    assert (frames[4]["mmd2"] > -1).all()
    corr = analyse(2, frames[2])["correlation"]
    assert set(corr["x"]) == {"spectral_gap", "average_degree"}
    assert "Finding 2" in (tmp_path / "report.md").read_text()
    merged = merge([str(tmp_path)])  # pooling folders gives back the same tables
    text = write_findings(str(tmp_path / "merged"), merged, {f: base_config(f, "tiny", over) for f in merged})
    assert text == (tmp_path / "report.md").read_text()


def test_teach_presets_share_runs_between_findings():
    from dssl_lite.config import PRESETS

    strip = lambda d: {k: v for k, v in d.items() if k not in ("objective", "topology")}
    assert strip(PRESETS["teach-mim-vs-cl"]) == strip(PRESETS["teach-mar"]) == strip(PRESETS["teach-features"])
    for f in (1, 3, 4):  # the MIM arm of findings 1, 3, 4 is one config, trained once
        assert dict(arms(f, preset(["", "teach-mim-vs-cl", "", "teach-mar", "teach-features"][f])))["mim" if f > 1 else "mim a=0.1"] \
            == preset("teach-mim-vs-cl")
    assert preset("paper-connectivity").degree == 10 and preset("paper-mim-vs-cl").dataset == "cifar10"


def test_cli_reproduce_rejects_bad_finding(capsys):
    from dssl_lite.cli import main

    assert main(["reproduce", "--finding", "7"]) == 2
    assert "finding" in capsys.readouterr().err


@pytest.mark.slow
def test_finding1_shows_at_teaching_preset():
    """Full-size science check: MIM more robust than CL at the shipped preset, 3 seeds."""
    frames = reproduce([1], seeds=[0, 1, 2], preset_name="teach")
    comps = analyse(1, frames[1])["comparisons"]
    assert comps["mean"].iloc[0] > 0


# ---------------------------------------------------------------- the `patches` dataset
def test_patches_shapes_balance_determinism():
    x, y = generate(n_per_class=30)
    assert x.shape == (300, 1, 16, 16) and x.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [30] * 10
    x2, y2 = generate(n_per_class=30)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert not np.array_equal(x, generate(n_per_class=30, seed=1)[0])
    b = dct_basis().reshape(16, 16)
    assert np.allclose(b @ b.T, np.eye(16), atol=1e-10)


def test_patches_label_lives_only_in_private_directions():
    x, y = generate(n_per_class=200)
    p = x.reshape(-1, 4, 4, 4, 4).transpose(0, 1, 3, 2, 4).reshape(len(x), 16, 16)  # (N, L, 16 px)
    coef = p @ dct_basis().reshape(16, 16).T                                       # DCT coefficients
    energy = (coef ** 2).mean(1)                                                    # (N, 16)
    per_class = np.stack([energy[y == c].mean(0) for c in range(10)])               # (10, 16)
    assert np.allclose(per_class[:, :6], per_class[:, :6].mean(0), rtol=0.1)        # shared: same
    assert (per_class[:, 6:].argmax(1) == np.arange(10)).all()                      # private: own
    assert np.abs(np.stack([coef[y == c].mean((0, 1)) for c in range(10)])).max() < 0.1  # no mean cue


def test_patches_loads_through_data():
    from dssl_lite import data

    d = data.load("patches", 16)
    assert d.train_x.shape == (4000, 1, 16, 16) and d.num_classes == 10
    assert np.bincount(d.train_y.numpy()).tolist() == [400] * 10
    assert abs(float(d.train_x.mean())) < 1e-4
