"""The findings: declarative specs judged by one `analyse`, a quick end-to-end `reproduce` on
`tiny`, and the full-size check behind --runslow."""
import pandas as pd
import pytest

from dssl_lite import preset
from dssl_lite.cli import main
from dssl_lite.findings import FINDINGS, analyse, base_config
from dssl_lite.stats import OPPOSITE, SHOWS, UNCLEAR


def test_arms_cover_each_finding():
    base = preset("tiny", clients=12)
    f2 = dict(FINDINGS[2].arms(base))
    assert list(f2) == ["ring", "min-degree 2", "min-degree 4", "min-degree 8", "complete", "fl"]
    assert {c.mixing for a, c in f2.items() if a != "fl"} == {"size"}
    assert [c.alpha for _, c in FINDINGS[1].arms(base, alphas=[0.05, 1.0])] == [0.05, 0.05, 1.0, 1.0]
    assert {c.objective for _, c in FINDINGS[3].arms(base)} == {"mim", "mar"}
    assert {c.objective for _, c in FINDINGS[4].arms(base)} == {"mim", "cl"}


def rows(arms: dict, floor=0.4, iid=0.8, **extra):
    """A fake runs table: {arm: robustness per seed}."""
    return pd.DataFrame([{"arm": a, "seed": s, "robustness": v, "accuracy": v * iid, "iid_accuracy": iid,
                          "floor": floor, "topology": a if a in ("fl", "ring", "complete") else "regular",
                          "average_degree": {"ring": 2, "min-degree 4": 4, "complete": 9, "fl": 9}.get(a, 4), **extra}
                         for a, per_seed in arms.items() for s, v in enumerate(per_seed)])


def test_analyse_judges_in_the_four_words():
    a = analyse(FINDINGS[1], rows({"mim a=0.01": [0.99, 0.98, 0.97], "cl a=0.01": [0.8, 0.82, 0.81]}))
    assert a.verdict == SHOWS and a.headline["n"] == 3
    a = analyse(FINDINGS[1], rows({"mim a=0.01": [0.8, 0.82, 0.81], "cl a=0.01": [0.99, 0.98, 0.97]}))
    assert a.verdict == OPPOSITE


def test_a_collapsed_arm_proves_nothing():
    """MAR whose IID accuracy sits at the random encoder's: its ratio means nothing."""
    a = analyse(FINDINGS[3], pd.concat([rows({"mar": [1.1, 1.2, 1.15]}, iid=0.41),
                                        rows({"mim": [0.9, 0.92, 0.91]})]))
    assert a.verdict == UNCLEAR and "collapsed" in a.notes[0]
    assert bool(a.arms.set_index("arm").loc["mar", "at_floor"])


def test_connectivity_is_judged_by_a_per_seed_trend():
    falling = rows({"ring": [0.95, 0.96, 0.94], "min-degree 4": [0.9, 0.91, 0.9], "complete": [0.85, 0.86, 0.84],
                    "fl": [0.85, 0.85, 0.83]})
    a = analyse(FINDINGS[2], falling)
    assert a.trend["mean"] == pytest.approx(-1.0) and a.verdict == OPPOSITE
    assert "rank correlation" in a.headline["comparison"]


# ---------------------------------------------------------------- the harness, quick (CI)
def test_quick_reproduce_on_tiny(tmp_path, capsys):
    args = ["reproduce", "--preset", "tiny", "--seeds", "2", "--alphas", "0.1", "--dataset", "patches",
            "--set", "device=cpu", "--out", str(tmp_path)]
    assert main(args) == 0
    report = (tmp_path / "report.md").read_text()
    for f in (1, 2, 3, 4):
        assert f"## Finding {f}" in report and (tmp_path / f"finding{f}.png").exists()
    assert "**Verdict:" in report and "The paper claims" in report
    table = pd.read_csv(tmp_path / "runs.csv")
    assert (table["robustness"] > 0).all() and table["floor"].between(0, 1).all()
    drifted = table[table["cka"].notna()]
    assert len(drifted) and drifted["cka"].between(0, 1.0001).all()
    before = len(table)
    assert main(args) == 0  # resumed: every row is there, nothing trains again
    assert len(pd.read_csv(tmp_path / "runs.csv")) == before
    merged = tmp_path / "merged"
    assert main(["reproduce", "--preset", "tiny", "--seeds", "2", "--alphas", "0.1", "--dataset", "patches",
                 "--set", "device=cpu", "--merge", str(tmp_path), "--out", str(merged)]) == 0
    assert (merged / "report.md").read_text() == report  # pooling a folder gives back its report


def test_teach_presets_share_runs_between_findings():
    from dssl_lite.config import PRESETS

    strip = lambda d: {k: v for k, v in d.items() if k not in ("objective", "topology")}
    assert strip(PRESETS["teach-mim-vs-cl"]) == strip(PRESETS["teach-mar"]) == strip(PRESETS["teach-features"])
    for f, name in ((1, "teach-mim-vs-cl"), (3, "teach-mar"), (4, "teach-features")):
        mim = dict(FINDINGS[f].arms(base_config(f, None, {})[1]))["mim" if f > 1 else "mim a=0.1"]
        assert mim.key() == preset("teach-mim-vs-cl").key()  # one config: trained once
    assert preset("paper-connectivity").degree == 10 and preset("paper-mim-vs-cl").dataset == "cifar10"


def test_cli_reproduce_rejects_bad_finding(capsys):
    assert main(["reproduce", "--finding", "7"]) == 2
    assert "finding" in capsys.readouterr().err


@pytest.mark.slow
def test_finding1_shows_at_the_live_preset(tmp_path):
    """Full-size science check: MIM more robust than CL at the live preset, 5 seeds."""
    from dssl_lite.findings import measure

    base = preset("live")
    a = analyse(FINDINGS[1], measure(FINDINGS[1], base, range(5)))
    assert a.headline["mean"] > 0
