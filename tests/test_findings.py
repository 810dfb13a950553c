"""The findings registry: each finding's arms and statistic, the symmetric verdict scale, the
cases where no verdict is given, the JSON `dssl-lite findings --json` prints, and a quick
end-to-end `reproduce` on `tiny`; the full-size check behind --runslow."""
import json
import math

import pandas as pd
import pytest

from dssl_lite import preset
from dssl_lite.cli import main
from dssl_lite.findings import FINDINGS, judgement
from dssl_lite.findings import verdicts as V


def test_arms_cover_each_finding():
    base = preset("tiny", clients=12)
    f2 = dict(FINDINGS[2].arms(base))
    assert list(f2) == ["ring", "min-degree 2", "min-degree 4", "min-degree 8", "complete", "fl"]
    assert {c.mixing for a, c in f2.items() if a != "fl"} == {"size"}
    assert [c.objective for _, c in FINDINGS[1].arms(base)] == ["mim", "cl"]
    assert {c.objective for _, c in FINDINGS[3].arms(base)} == {"mim", "mar"}
    assert {c.objective for _, c in FINDINGS[4].arms(base)} == {"mim", "cl"}
    # each finding names its setting: the lesson scale, alpha 0.01, and finding 2's objective
    for f in FINDINGS.values():
        assert f.base().alpha == 0.01 and f.base().rounds * f.base().local_steps == 600
    assert FINDINGS[2].base().objective == "mim" and FINDINGS[2].objective == "MIM"


@pytest.mark.parametrize("est", [0.05, 0.01, 0.3])
def test_the_scale_is_symmetric(est):
    for lo, hi in [(est - 0.02, est + 0.02), (est - 0.5, est + 0.5), (est - 0.005, est + 0.005)]:
        toward, against = V.judge(est, lo, hi, 5, 0.02), V.judge(-est, -hi, -lo, 5, 0.02)
        mirror = {V.SHOWS: V.OTHER_WAY, V.OTHER_WAY: V.SHOWS}
        assert against == mirror.get(toward, toward), (est, lo, hi, toward, against)


def test_the_scale_tells_no_difference_from_noise():
    assert V.judge(0.001, -0.01, 0.012, 5, 0.02) == V.NO_DIFFERENCE      # inside +-0.02: too small to matter
    assert V.judge(0.009, -0.054, 0.071, 5, 0.02) == V.NOISE             # includes 0, reaches past the band
    assert V.judge(-0.048, -0.170, 0.075, 5, 0.02) == V.NOISE            # the same word the other way
    assert V.judge(0.07, 0.037, 0.103, 10, 0.02) == V.SHOWS
    assert V.judge(-0.07, -0.103, -0.037, 10, 0.02) == V.OTHER_WAY
    assert V.judge(0.1, math.nan, math.nan, 1, 0.02) == V.ONE_SEED
    assert V.judge(math.nan, math.nan, math.nan, 0, 0.02) == V.NOT_MEASURED
    assert V.combine([V.SHOWS, V.OTHER_WAY]) == V.DISAGREE and V.combine([V.SHOWS, V.SHOWS]) == V.SHOWS
    assert V.combine([V.SHOWS, V.NOISE]) == V.NOISE


def rows(arms: dict, floor=0.4, iid=0.8, degree=None, **extra):
    """A fake runs table, already labelled: {arm: robustness per seed}."""
    degree = degree or {"ring": 2, "min-degree 2": 2.6, "min-degree 4": 4.7, "min-degree 8": 8.6, "complete": 9, "fl": 9}
    return pd.DataFrame([{"arm": a, "seed": s, "robustness": v, "accuracy": v * iid, "iid_accuracy": iid,
                          "floor": floor, "average_degree": degree.get(a, 4), **extra}
                         for a, per_seed in arms.items() for s, v in enumerate(per_seed)])


def test_finding1_is_a_paired_difference_with_the_raw_accuracies_beside_it():
    f = FINDINGS[1]
    j = f.judge(f.base(), rows({"mim": [0.99, 0.98, 0.97], "cl": [0.8, 0.82, 0.81]}))
    assert j.verdict == V.SHOWS and j.seeds == 3 and j.estimate == pytest.approx(0.17, abs=1e-9)
    assert any("accuracy, non-IID" in m["name"] for m in j.measures)
    j = f.judge(f.base(), rows({"mim": [0.8, 0.82, 0.81], "cl": [0.99, 0.98, 0.97]}))
    assert j.verdict == V.OTHER_WAY


def test_a_collapsed_arm_proves_nothing():
    """MAR whose IID accuracy sits at the random encoder's: its ratio means nothing."""
    f = FINDINGS[3]
    j = f.judge(f.base(), pd.concat([rows({"mar": [1.1, 1.2, 1.15]}, iid=0.41), rows({"mim": [0.9, 0.92, 0.91]})]))
    assert j.verdict == V.COLLAPSED and "collapsed" in j.notes[0]


def test_connectivity_is_a_slope_per_doubling_with_pages_test_beside_it():
    f = FINDINGS[2]
    falling = rows({"ring": [0.95, 0.96, 0.94], "min-degree 4": [0.9, 0.91, 0.9], "complete": [0.85, 0.86, 0.84],
                    "fl": [0.85, 0.85, 0.83]})
    j = f.judge(f.base(), falling)
    assert j.verdict == V.OTHER_WAY and j.estimate < 0 and j.interval[1] < 0
    page = next(m for m in j.measures if m["name"].startswith("Page"))
    assert page["estimate"] == pytest.approx(1.0) and page["p_falling"] == pytest.approx((1 / 6) ** 3)
    same = rows({"ring": [0.8, 0.82, 0.81], "min-degree 4": [0.85, 0.86, 0.84], "complete": [0.9, 0.91, 0.9],
                 "fl": [0.9, 0.91, 0.9]})
    j = f.judge(f.base(), same)
    assert j.verdict == V.SHOWS and any("FedAvg" in n for n in j.notes)  # complete == FL: said, not counted twice


def test_drift_states_a_disagreement_as_one():
    f = FINDINGS[4]
    r = pd.concat([rows({"mim": [0.9, 0.92, 0.91]}, cka=None), rows({"cl": [0.8, 0.81, 0.8]})])
    r["cka"] = [0.90, 0.91, 0.92, 0.80, 0.80, 0.81]     # MIM's locals closer (the paper's way)
    r["mmd2"] = [0.50, 0.52, 0.51, 0.20, 0.21, 0.22]    # ... but CL's MMD^2 smaller (the other way)
    j = f.judge(f.base(), r)
    assert j.verdict == V.DISAGREE and len(j.measures) == 2 and "opposite" in j.notes[-1]


def test_no_verdict_at_iid_or_where_nothing_was_measured():
    f = FINDINGS[1]
    assert f.judge(f.base(alpha=None)).verdict == V.NO_VERDICT_AT_IID
    assert f.judge(f.base(), rows({})).verdict == V.NOT_MEASURED
    assert f.judge(f.base(clients=7)).verdict == V.NOT_MEASURED  # no atlas holds 7 clients


def test_findings_json_has_every_field(capsys):
    assert main(["findings", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [o["finding"] for o in out] == [1, 2, 3, 4]
    for o in out:
        for key in ("finding", "claim", "setting", "objective", "statistic", "estimate", "interval", "seeds", "verdict"):
            assert key in o, key
        assert o["verdict"] in V.VERDICTS and len(o["interval"]) == 2
        assert o["verdict"] == judgement(o["finding"]).verdict


def test_a_notebooks_conclusion_quotes_the_package_and_judges_its_own_runs():
    """Notebook 03's conclusion: the registry's judgement word for word, then the same statistic on
    the notebook's runs at each of its settings, the setting named."""
    from dssl_lite.findings.render import DOCS_URL, conclude, markdown

    base = preset("tiny", topology="fl", alpha=0.1)
    made = [{"config": c.replace(seed=s).to_json(), "seed": s, "robustness": v, "accuracy": v * 0.8,
             "iid_accuracy": 0.8, "floor": 0.4}
            for (arm, c), values in zip(FINDINGS[1].arms(base), ([0.99, 0.98, 0.97], [0.8, 0.82, 0.81]))
            for s, v in enumerate(values)]
    text, metrics = conclude(1, pd.DataFrame(made), [base])
    assert markdown(judgement(1), DOCS_URL) in text
    assert "alpha 0.1" in text and "shows" in text and metrics["verdict[alpha=0.1]"] == V.SHOWS
    assert metrics["verdict[package]"] == judgement(1).verdict


# ---------------------------------------------------------------- the harness, quick (CI)
def test_quick_reproduce_on_tiny(tmp_path, capsys):
    args = ["reproduce", "--preset", "tiny", "--seeds", "2", "--dataset", "patches", "--set", "device=cpu",
            "--out", str(tmp_path)]
    assert main(args) == 0
    report = (tmp_path / "report.md").read_text()
    for f in (1, 2, 3, 4):
        assert f"## Finding {f}:" in report and (tmp_path / f"finding{f}.png").exists()
    assert "**Verdict:" in report and "The paper claims" in report
    table = pd.read_csv(tmp_path / "runs.csv")
    assert (table["robustness"] > 0).all() and table["floor"].between(0, 1).all()
    drifted = table[table["cka"].notna()]
    assert len(drifted) and drifted["cka"].between(0, 1.0001).all()
    before = len(table)
    assert main(args) == 0  # resumed: every row is there, nothing trains again
    assert len(pd.read_csv(tmp_path / "runs.csv")) == before
    merged = tmp_path / "merged"
    assert main(["reproduce", "--preset", "tiny", "--seeds", "2", "--dataset", "patches", "--set", "device=cpu",
                 "--merge", str(tmp_path), "--out", str(merged)]) == 0
    assert (merged / "report.md").read_text() == report  # pooling a folder gives back its report


def test_cli_reproduce_rejects_bad_finding(capsys):
    assert main(["reproduce", "--finding", "7"]) == 2
    assert "finding" in capsys.readouterr().err


@pytest.mark.slow
def test_finding1_shows_at_the_lesson_scale():
    """Full-size science check: MIM more robust than CL at `live`, 5 seeds, trained afresh."""
    from dssl_lite.runs import get_or_run

    f = FINDINGS[1]
    j = f.judge(f.base(), get_or_run(f.configs(f.base(), range(5))))
    assert j.verdict == V.SHOWS
