"""One runs table (`runs.py`): the row schema, the reference switch, stores, get_or_run."""
import json
import math

import pandas as pd
import pytest

from dssl_lite import preset
from dssl_lite.runs import COLUMNS, CsvStore, FolderStore, frame, get_or_run, read_csv, with_reference
from dssl_lite.storage import DamagedFile


@pytest.fixture(scope="module")
def two_rows(tmp_path_factory):
    store = CsvStore(tmp_path_factory.mktemp("runs") / "a.csv")
    cfgs = [preset("tiny", seed=s) for s in (0, 1)]
    return store, cfgs, get_or_run(cfgs, store)


def test_a_row_has_the_schema_and_its_identity(two_rows):
    store, cfgs, rows = two_rows
    assert list(rows.columns[: len(COLUMNS)]) == COLUMNS
    assert list(rows["key"]) == [c.key() for c in cfgs] and list(rows["seed"]) == [0, 1]
    r = rows.iloc[0]
    assert r["robustness"] == pytest.approx(r["accuracy"] / r["iid_accuracy"]) and 0 < r["floor"] < 1
    assert r["total_bytes"] > 0 and json.loads(r["config"])["seed"] == 0


def test_the_store_is_read_back_and_nothing_trains_twice(two_rows):
    store, cfgs, rows = two_rows
    again = CsvStore(store.path)
    assert set(again.get([c.key() for c in cfgs])) == {c.key() for c in cfgs}
    trained = []
    got = get_or_run(cfgs, again, on_group=lambda *a: trained.append(a))
    assert trained == [] and got["accuracy"].tolist() == rows["accuracy"].tolist()
    with pytest.raises(PermissionError):
        CsvStore(store.path, writable=False).add(rows.to_dict("records"))


def test_with_reference_picks_a_column():
    t = pd.DataFrame({"robustness_fl_iid": [0.9], "robustness_same_graph": [0.95], "fl_iid_accuracy": [0.8],
                      "same_graph_iid_accuracy": [0.7]})
    assert with_reference(t, "same-graph")["robustness"].item() == 0.95
    assert with_reference(t, "fl-iid")["iid_accuracy"].item() == 0.8
    with pytest.raises(ValueError):
        with_reference(t, "other")


def test_empty_and_damaged_tables(tmp_path):
    assert list(read_csv(tmp_path / "none.csv").columns) == COLUMNS and not len(frame([]))
    (tmp_path / "bad.csv").write_text("config,accuracy,iid_accuracy,robustness\n{,0.5,0.5,1\n")
    with pytest.raises(DamagedFile, match="row 1"):
        read_csv(tmp_path / "bad.csv")


def test_a_sweep_folder_is_a_store(tmp_path):
    from dssl_lite.experiment import run

    run(preset("tiny")).save(tmp_path / "r0" / "result.json")
    (tmp_path / "r1").mkdir()
    (tmp_path / "r1" / "result.json").write_text("{not json")  # a damaged run is left out, not a crash
    rows = FolderStore(tmp_path).rows()
    assert len(rows) == 1 and rows[0]["run"] == "r0" and not math.isnan(rows[0]["accuracy"])
