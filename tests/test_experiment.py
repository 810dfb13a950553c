"""A run beside its references (`experiment.py`): both ratios recorded, the headline chosen by
`reference` and `decl_eval` without training anything twice."""
import pytest

from dssl_lite import preset
from dssl_lite.experiment import MEMORY, forget, run, run_many


def test_every_result_records_both_references_and_the_raw_accuracy():
    forget()
    decl = preset("tiny", topology="ring", alpha=0.3, seed=7)
    r = run(decl)
    m = r.metrics
    for k in ("accuracy", "fl_iid_accuracy", "same_graph_iid_accuracy", "robustness_fl_iid",
              "robustness_same_graph", "accuracy_average", "accuracy_local_mean"):
        assert k in m, k
    assert m["robustness_fl_iid"] == pytest.approx(m["accuracy"] / m["fl_iid_accuracy"])
    assert m["robustness_same_graph"] == pytest.approx(m["accuracy"] / m["same_graph_iid_accuracy"])
    assert m["robustness"] == m["robustness_fl_iid"] and m["iid_accuracy"] == m["fl_iid_accuracy"]  # the default
    trained = len(MEMORY)
    assert trained == 3  # the run, its ring IID reference and the FL IID reference
    other = run_many([decl.replace(reference="same-graph")], reuse=True)[0]
    assert len(MEMORY) == trained  # a headline choice trains nothing
    assert other.robustness == m["robustness_same_graph"] and other.iid_accuracy == m["same_graph_iid_accuracy"]
    fl = run(preset("tiny", alpha=0.3, seed=7))
    assert fl.metrics["robustness_fl_iid"] == fl.metrics["robustness_same_graph"] == fl.robustness


def test_memory_keeps_the_runs_in_use_and_drops_the_longest_unused(monkeypatch):
    """A process that trains without end (an explorer left open) keeps at most `MEMORY_MAX` runs
    besides those a call reads: the baseline every run shares stays, the longest unused run goes
    and is trained again, to the same numbers, when asked for."""
    from dssl_lite import experiment

    forget()
    monkeypatch.setattr(experiment, "MEMORY_MAX", 3)
    trained, real = [], experiment.train_groups
    monkeypatch.setattr(experiment, "train_groups", lambda groups, *a: trained.extend(
        c.key() for g in groups for c, _ in g) or real(groups, *a))
    runs = [preset("tiny", alpha=a, seed=1, rounds=1) for a in (0.1, 0.2, 0.3, 0.4)]
    first = [run(c) for c in runs]
    baseline = experiment.fl_iid(runs[0]).train_key()
    assert len(trained) == 5 and trained.count(baseline) == 1  # the shared baseline trained once
    assert len(MEMORY) == 4 and baseline in MEMORY and runs[0].train_key() not in MEMORY
    again = run(runs[0])
    assert trained[-1] == runs[0].key() and again.metrics == first[0].metrics
    assert len(MEMORY) <= 3 + 2
