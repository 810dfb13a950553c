"""The notebook helpers: tables over seeds and conclusions that follow the numbers."""
import numpy as np
import pandas as pd
import pytest

from dssl_lite import study


def runs(mim, cl):
    rows = [{"objective": o, "alpha": a, "seed": s, "robustness": v, "accuracy": 0.5}
            for o, vals in (("mim", mim), ("cl", cl)) for a, per_seed in vals.items()
            for s, v in enumerate(per_seed)]
    return pd.DataFrame(rows)


def test_summarize_mean_std_and_count():
    t = study.summarize(runs({0.1: [1.0, 0.9]}, {0.1: [0.8, 0.8]}), by=["objective", "alpha"])
    mim = t[t.objective == "mim"].iloc[0]
    assert mim.robustness_mean == pytest.approx(0.95) and mim.robustness_std == pytest.approx(0.0707, abs=1e-3)
    assert mim.seeds == 2 and t[t.objective == "cl"].iloc[0].robustness_std == 0.0


def test_quick_mode_from_env(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    assert not study.is_quick(False) and study.is_quick(True)
    monkeypatch.setenv("CI", "true")
    assert study.is_quick(False)
    monkeypatch.setenv("CI", "false")
    assert not study.is_quick(False)
    assert study.seeds_for([3, 4, 5], True) == [3] and study.seeds_for([3, 4], False) == [3, 4]


def test_trend_and_result_files(tmp_path):
    assert study.trend([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert study.trend([1, 2, 3], [1, 1, 1]) != study.trend([1, 2, 3], [1, 1, 1])  # nan
    table = study.summarize(runs({0.1: [1.0]}, {0.1: [0.9]}), by=["objective", "alpha"])
    path = study.write_result(tmp_path, "nb", {"quick": True}, {"x": 1.0}, table, "text")
    import json

    out = json.loads(path.read_text())
    assert out["conclusion"] == "text" and len(out["table"]) == 2
    assert (tmp_path / "summary.csv").read_text().startswith("objective,alpha")


def test_setup_resolves_quick_mode_once(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    assert study.setup(False, [3, 4]) == (False, [3, 4], {})
    quick, seeds, over = study.setup(True, [3, 4])
    assert quick and seeds == [3] and over == study.QUICK and over is not study.QUICK


def test_degree_names_the_graph():
    assert [study.topology_for_degree(8, d) for d in (2, 4, 7)] == ["ring", "regular", "complete"]
    topo, adj = study.degree_graph(8, 4, seed=0)
    assert topo == "regular" and (adj.sum(1) == 4).all()
    with pytest.raises(ValueError, match="K\\*d even"):
        study.degree_graph(7, 3, seed=0)


def test_gossip_reaches_consensus_faster_on_denser_graphs():
    runs, curves = study.gossip_runs(8, [2, 7], [0], steps=30, dim=4)
    ring, complete = runs.set_index("degree").loc[2], runs.set_index("degree").loc[7]
    assert curves[(7, 0)][1] < 1e-9 and complete.steps_to_1pct == 1  # one exact averaging step
    assert ring.steps_to_1pct > 1 and ring.spectral_gap < complete.spectral_gap == pytest.approx(1.0)
    table = study.summarize(runs, by=["degree", "topology"], values=["average_degree", "spectral_gap", "steps_to_1pct"])
    text, metrics = study.conclude_mixing(table)
    assert "Verdict: shows that more connections mix faster" in text
    assert metrics["spearman_degree_gap"] == pytest.approx(1.0)


def test_partition_stats_and_their_conclusion():
    labels = np.repeat(np.arange(10), 50)
    runs = study.partition_stats(labels, 10, 5, [0.05, 100.0], [0, 1], min_client_size=10)
    assert len(runs) == 4 and (runs.smallest_client >= 10).all()
    table = study.summarize(runs, by=["alpha"], values=["heterogeneity", "classes_held"])
    text, metrics = study.conclude_non_iid(table)
    assert "Verdict: shows that smaller alpha" in text and metrics["spearman_alpha_heterogeneity"] < 0
