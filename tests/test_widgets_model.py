"""The explorer's model without widgets (`widgets/model.py`, `widgets/worker.py`): its worker
survives a failing listener, can be closed, and a dropped model frees its thread and models."""
import threading
import time

import pytest

from dssl_lite.presets import preset


# ----- the explorer's worker -----
def test_a_failing_watcher_does_not_kill_the_worker(caplog):
    from dssl_widgets.model import ExplorerModel

    m, failures = ExplorerModel(preset("tiny")), []
    m.seeds = 1

    def broken(change):
        raise RuntimeError("display bug")

    m.watch(broken, "live")
    m.observe(lambda ch: failures.append(ch["new"]), "failure")
    assert m.run() and m.wait(90) and not m.running
    assert len(m.results) == 1 and m.status == "finished"
    assert failures and "display bug" in failures[0][1] and "display bug" in caplog.text
    assert m.set(alpha=0.3) and m.run() and m.wait(90) and len(m.results) == 2  # still serving
    m.close()


def test_close_stops_the_worker_and_frees_models():
    pytest.importorskip("ipywidgets")
    from dssl_widgets import build_explorer

    ex = build_explorer("tiny", backend="image")
    m = ex.model
    assert ex.run() and ex.wait(90) and m.simulators and m.results
    worker = m._worker
    m.run()  # a run in progress when closing is stopped
    ex.close()
    assert not worker.alive and not m.running
    assert not m.simulators and not m.results
    with pytest.raises(RuntimeError, match="closed"):
        m.run()


def test_a_dropped_explorer_model_frees_its_thread_and_models():
    """No close(): the worker thread holds no reference to its model between jobs, so the model
    (and its trained simulators) is collected and the thread ends."""
    import gc
    import weakref

    from dssl_widgets.model import ExplorerModel

    def threads():
        return sum(t.name == "dssl-explorer" and t.is_alive() for t in threading.enumerate())

    before, refs = threads(), []
    for seed in range(3):
        m = ExplorerModel(preset("tiny", seed=seed))
        m.seeds = 1
        assert m.run() and m.wait(90) and m.simulators
        refs.append(weakref.ref(m))
        del m
    gc.collect()
    assert all(r() is None for r in refs), "a dropped model is still referenced"
    end = time.monotonic() + 30
    while threads() > before:
        assert time.monotonic() < end, "the worker threads of dropped models did not end"
        time.sleep(0.05)




def test_close_leaves_no_trained_simulator_alive():
    """After close() nothing holds a trained simulator (its client states, its worker tensors):
    not the model's dict of the last two, its attempts, results or live curves."""
    import gc
    import weakref

    from dssl_widgets.model import ExplorerModel

    m, refs = ExplorerModel(preset("tiny"), "tiny"), []
    m.seeds = 1
    for alpha in (0.1, 0.5, 1.0):
        assert m.set(alpha=alpha) and m.run() and m.wait(90)
        refs.append(weakref.ref(list(m.simulators.values())[-1]))  # this run's
    assert [r() is not None for r in refs] == [False, True, True]  # the last two are kept
    m.close()
    gc.collect()
    assert all(r() is None for r in refs), "a closed model still holds a trained simulator"
    assert not m.attempts and not m.results


def test_reset_forgets_the_trained_models():
    pytest.importorskip("ipywidgets")
    from dssl_widgets import build_explorer
    from dssl_widgets.features_panel import NOTHING_YET

    ex = build_explorer("tiny", backend="image", seeds=1)
    assert ex.run() and ex.wait(90) and ex.model.simulators
    ex.reset_button.click()
    assert ex.wait(30) and not ex.model.simulators and not ex.results
    ex.features.button.click()  # nothing to compare now: it says so
    assert ex.features.table.value == NOTHING_YET
    ex.close()


def test_participation_below_1_is_fl_only_and_a_graph_takes_everyone():
    """FL samples clients, a graph has everyone take part: at the live preset (FL) a
    participation of 0.5 is a valid draft with its cheap views; moving to a graph sets it to 1
    and says so, instead of an error about the slider a graph disables."""
    from dssl_widgets.model import ExplorerModel

    m = ExplorerModel(preset("live"), "live")
    failures = []
    m.observe(lambda ch: failures.append(ch["new"]), "failure")
    assert m.set(participation=0.5) and m.error is None and m.config.participation == 0.5
    assert m.set(topology="ring") and m.error is None, m.error
    assert m.config.participation == 1.0 and m.values["participation"] == 1.0
    assert "participation set from 0.5 to 1" in m.notice
    assert m.set(topology="fl") and m.config.participation == 1.0 and "participation" not in m.notice
    assert not failures and m.failure is None
    m.close()
