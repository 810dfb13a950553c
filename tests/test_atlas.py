"""The atlas (`atlas.py`): a grid built into rows of the runs table, resumable; `verify` re-runs rows
and fails on any difference; the curves the explorer and notebooks draw."""
import json

import numpy as np
import pandas as pd
import pytest

from dssl_lite import atlas, cli, preset
from dssl_lite.config import ConfigError

GRID = {"preset": "tiny", "seeds": [0, 1], "groups": [{"objective": ["mim"], "alpha": [0.1, 1.0, "iid"]}]}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("atlas") / "tiny.csv"
    atlas.build(GRID, out)
    return out


def test_build_writes_one_row_per_config_and_resumes(built, monkeypatch):
    table = pd.read_csv(built)
    assert len(table) == 6 and table["key"].is_unique
    assert set(table.columns) >= {"key", "accuracy", "iid_accuracy", "robustness", "floor", "engine", "config"}
    iid = table[table["alpha"].isna()]
    assert np.allclose(iid["robustness"], 1.0)  # an IID row is its own baseline
    from dssl_lite import experiment

    monkeypatch.setattr(experiment, "run_many", lambda *a, **k: pytest.fail("trained again"))
    assert len(atlas.build(GRID, built)) == 6  # everything there: nothing trains


def test_expand_validates_before_any_run():
    with pytest.raises(ConfigError) as e:
        atlas.expand({**GRID, "groups": [{"alhpa": [0.1]}]})
    assert e.value.field == "alhpa"
    assert len(atlas.expand(GRID)) == 6


def test_verify_passes_on_identical_rows_and_fails_on_an_altered_one(built, tmp_path, capsys):
    assert cli.main(["atlas", "verify", "--atlas", str(built), "--rows", "2", "--seed", "3"]) == 0
    assert "identical" in capsys.readouterr().out
    table = pd.read_csv(built)
    table.loc[:, "robustness"] += 0.01  # every row altered
    bad = tmp_path / "bad.csv"
    table.to_csv(bad, index=False)
    assert cli.main(["atlas", "verify", "--atlas", str(bad), "--rows", "1"]) == 1
    out = capsys.readouterr().out
    assert "DIFFERS" in out and "rebuild" in out


def test_curves_follow_the_setting(built, monkeypatch):
    table = atlas.with_keys(atlas.read(built))
    curve = atlas.curve(table, preset("tiny"), "alpha")
    assert list(curve["x"]) == [0.1, 1.0, np.inf] and (curve["n"] == 2).all()
    assert not len(atlas.curve(table, preset("tiny", objective="cl"), "alpha"))  # not measured
    cfg = json.loads(pd.read_csv(built)["config"].iloc[0])
    assert atlas.setting_key(cfg, ("seed",)) == atlas.setting_key(preset("tiny", **{k: cfg[k] for k in ("alpha",)}), ("seed",))
