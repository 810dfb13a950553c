"""The explorer's logic without widgets: the typed draft and its rules, the model's worker, Reset,
shareable links and the lesson's logic (`widgets/draft.py`, `model.py`, `worker.py`, `link.py`,
`lesson_model.py`)."""
import math
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest
import traitlets as T

from dssl_lite.config import ConfigError
from dssl_lite.presets import preset


def model(name="tiny", **kw):
    from dssl_widgets.model import ExplorerModel

    return ExplorerModel(preset(name), name, **kw)


# ----- the draft -----
def test_the_draft_is_typed_and_carries_every_parts_field():
    from dssl_lite.registry import load_all
    from dssl_widgets.draft import Draft

    d = Draft(preset("live"))
    assert set(load_all()) <= set(d.fields)  # a registered part's field is on the draft, unedited here
    assert isinstance(d.traits()["degree"], T.Int) and isinstance(d.traits()["mask_ratio"], T.Float)
    with pytest.raises(T.TraitError):
        d.clients = "many"
    d.alpha, d.objective = 0.1, "cl"
    assert d.config() == preset("live", alpha=0.1, objective="cl")
    d.iid = True
    assert d.config().alpha is None and d.alpha == 0.1  # kept for when IID is unticked


def test_a_graph_takes_every_client_by_a_validator():
    """FL samples clients, a graph has everyone take part: a draft moved from FL at participation
    0.5 to a graph takes participation 1 and says so (a rule on the draft, not in the GUI)."""
    m = model("live")
    assert m.set(participation=0.5) and m.config.participation == 0.5
    assert m.set(topology="ring") and m.error is None, m.error
    assert m.config.participation == 1.0 and m.draft.participation == 1.0
    assert "participation set from 0.5 to 1" in m.notice
    assert m.set(topology="fl") and m.config.participation == 1.0 and "participation" not in m.notice
    assert m.failure is None
    m.close()


def test_feasibility_lowers_the_minimum_client_size_without_touching_the_draft():
    """Small alpha, many clients: the trained config's minimum client size is lowered (and said)
    by `federation.feasible`; the draft keeps the preset's; where not even one image each is
    possible, `error` names clients."""
    from dssl_lite.federation import feasible

    m = model()
    assert m.set(alpha=0.0316, clients=26)
    assert m.config.min_client_size < 10 and m.draft.values()["min_client_size"] == 10
    assert "lowered from 10" in m.notice
    assert m.config == feasible(m.draft.config(), range(m.config.seed, m.config.seed + m.seeds))
    assert not m.set(alpha=0.01, clients=60)
    assert m.error[0] == "clients" and "cannot all get images" in m.error[1]
    assert m.config.clients == 26  # the views keep the last valid setting
    assert m.set(clients=8) and m.error is None and m.notice == ""
    m.close()


def test_the_preset_menu_says_custom_only_while_the_draft_differs():
    m = model()
    assert m.preset_choice == "tiny" and not m.modified
    m.set(alpha=0.05)
    assert m.preset_choice == "custom" and m.modified
    m.set(alpha=preset("tiny").alpha)
    assert m.preset_choice == "tiny"
    m.preset_choice = "live"  # the menu loads a preset
    assert m.config == preset("live") and m.preset == "live" and m.preset_choice == "live"
    m.close()


# ----- the worker -----
def test_a_failing_watcher_does_not_kill_the_worker(caplog):
    m, failures = model(seeds=1), []

    def broken(change):
        raise RuntimeError("display bug")

    m.watch(broken, "live")
    m.observe(lambda ch: failures.append(ch["new"]), "failure")
    assert m.run() and m.wait(90) and not m.running
    assert len(m.results) == 1 and m.status == "finished"
    assert failures and "display bug" in failures[0][1] and "display bug" in caplog.text
    assert m.set(alpha=0.3) and m.run() and m.wait(90) and len(m.results) == 2  # still serving
    m.close()


def test_a_run_that_diverges_names_lr_and_keeps_results():
    """The trainer is a seam: one that raises as a diverging run does leaves the model serving."""
    from dssl_lite.experiment import run_seeds

    calls = []

    def train(cfg, seeds, *a, **k):
        calls.append(cfg)
        if len(calls) > 1:
            raise FloatingPointError("lr: loss became nan at round 1; lower lr (now 10.0)")
        return run_seeds(cfg, seeds, *a, **k)

    m = model(seeds=1, train=train)
    assert m.run() and m.wait(90) and len(m.results) == 1
    m.set(alpha=0.3)
    assert m.run() and m.wait(30)
    assert m.status == "failed" and "lr" in m.failure[1] and m.attempts[-1].status == "error"
    assert len(m.results) == 1
    m.close()


def test_a_dropped_explorer_model_frees_its_thread_and_models():
    """No close(): the worker thread holds no reference to its model between jobs, so the model
    (and its trained simulators) is collected and the thread ends."""
    import gc
    import weakref

    def threads():
        return sum(t.name == "dssl-explorer" and t.is_alive() for t in threading.enumerate())

    before, refs = threads(), []
    for seed in range(3):
        m = model(seeds=1)
        m.set(seed=seed)
        assert m.run() and m.wait(90) and m.simulators
        refs.append(weakref.ref(m))
        del m
    gc.collect()
    assert all(r() is None for r in refs), "a dropped model is still referenced"
    end = time.monotonic() + 30
    while threads() > before:
        assert time.monotonic() < end, "the worker threads of dropped models did not end"
        time.sleep(0.05)


def test_close_leaves_no_trained_simulator_or_thread_alive():
    """After close() nothing holds a trained simulator, and the worker thread has ended."""
    import gc
    import weakref

    m, refs = model(seeds=1), []
    for alpha in (0.1, 0.5, 1.0):
        assert m.set(alpha=alpha) and m.run() and m.wait(90)
        refs.append(weakref.ref(list(m.simulators.values())[-1]))  # this run's
    assert [r() is not None for r in refs] == [False, True, True]  # the last two are kept
    m.run()  # a run in progress when closing is stopped
    m.close()
    gc.collect()
    assert all(r() is None for r in refs), "a closed model still holds a trained simulator"
    assert not m.attempts and not m.results and not m.alive and not m.running
    with pytest.raises(RuntimeError, match="closed"):
        m.run()


def test_reset_returns_to_a_fresh_page():
    """Reset: the preset's settings (the menu shows its name), the seeds, objectives and axis the
    page opened with, no results, pin, live curves, progress or trained models."""
    m = model(seeds=2)
    m.set(alpha=0.3, clients=5)
    m.seeds, m.compare, m.x_axis = 1, ["mar"], "degree"
    assert m.run() and m.wait(90) and m.results and m.simulators and m.progress
    m.pin()
    cleared = m.cleared
    m.reset()
    assert m.wait(30)
    assert m.config == preset("tiny") and m.preset_choice == "tiny"
    assert (m.seeds, m.compare, m.x_axis) == (2, ["mim", "cl"], "alpha")
    assert not m.results and not m.simulators and not m.attempts and m.pinned is None
    assert m.progress is None and m.live == {"non_iid": {}, "iid": {}} and m.status == "idle"
    assert m.cleared == cleared + 1
    m.close()


# ----- links -----
def test_a_link_round_trips_the_setting_and_the_page():
    from dssl_widgets import link

    m = model("live-short")
    m.set(alpha=0.0316, objective="cl", topology="ring", mixing="metropolis", seed=3)
    m.seeds, m.compare, m.x_axis = 2, ["mim", "mar"], "degree"
    q = link.query(m)
    assert q.startswith("preset=live-short&") and "x=graphs" in q and "compare=mim,mar" in q
    page = link.read(q)
    assert page.error is None and page.config == m.draft.config() and page.preset == "live-short"
    assert (page.seeds, page.compare, page.x_axis, page.mode) == (2, ["mim", "mar"], "degree", "full")
    again = model("live-short")
    again.draft.load(page.config)
    assert again.draft.values() == m.draft.values()
    iid = link.read(link.query(model("tiny", seeds=3)) + "&alpha=iid&mode=lesson&finding=3")
    assert iid.config.alpha is None and (iid.mode, iid.finding) == ("lesson", 3)
    assert link.read("http://host:8866/?preset=tiny&clients=5&token=abc").config.clients == 5
    for m_ in (m, again):
        m_.close()


@pytest.mark.parametrize("query, field", [("alpha=abc", "alpha"), ("clients=-3", "clients"), ("seeds=9", "seeds"),
                                          ("x=sideways", "x"), ("preset=nope", "preset"), ("colour=red", "colour"),
                                          ("compare=mim,nothing", "compare"), ("finding=7", "finding"),
                                          ("topology=regular&degree=3&clients=5", "degree")])
def test_a_bad_link_gives_one_line_for_its_field_and_the_default_setting(query, field):
    from dssl_widgets import link

    page = link.read("?" + query, default_preset="tiny", seeds=2)
    assert isinstance(page.error, ConfigError) and page.error.field == field, page.error
    assert "\n" not in str(page.error) and str(page.error).startswith(f"{field}: ")
    assert page.config == preset("tiny") and page.preset == "tiny" and page.seeds == 2
    assert (page.compare, page.x_axis, page.mode) == (["mim", "cl"], "alpha", "full")


# ----- the lesson -----
def test_the_lesson_reveals_only_after_a_guess_and_walks_the_findings():
    from dssl_lite.findings import FINDINGS
    from dssl_widgets.lesson_model import ANSWER_VERDICT, SCREENS, LessonModel, guess_meets

    assert set(SCREENS) == set(FINDINGS) and all(len(s.answers) == len(ANSWER_VERDICT) for s in SCREENS.values())
    les = LessonModel()
    assert not les.reveal() and not les.shown  # no guess, no measurement
    les.guess(les.screen.answers[0])
    assert les.reveal() and les.shown
    seen = [les.finding]
    for _ in range(5):
        les.next()
        seen.append(les.finding)
    assert seen == [1, 2, 3, 4, 4, 4] and not les.shown and les.guesses == {1: 0}
    les.previous()
    assert les.finding == 3
    assert guess_meets(0, "shows").startswith("Your guess matches")
    assert guess_meets(2, "shows").startswith("Your guess differs")
    assert "cannot confirm" in guess_meets(0, "within the noise")


def test_seeds_needed_against_a_loop_over_seed_counts():
    """From a finding's own 95 % t-interval: the fewest seeds whose interval, at the spread the
    seeds show, is narrower than the effect. Oracle: the sample's sd and the t quantile, by hand."""
    from scipy import stats as st

    from dssl_lite.stats import paired_difference
    from dssl_widgets.lesson_model import seeds_needed, seeds_words

    rng = np.random.default_rng(0)
    for effect, n in ((0.16, 4), (0.012, 5), (0.07, 10), (0.001, 5)):
        a = rng.normal(0.9, 0.02, n)
        b = a - effect + rng.normal(0, 0.03, n)
        d = paired_difference(a, b)
        j = SimpleNamespace(interval=(d["ci_low"], d["ci_high"]), seeds=n, estimate=d["mean"])
        sd = float(np.std(a - b, ddof=1))
        want = next((m for m in range(2, 1001) if st.t.ppf(0.975, m - 1) * sd / math.sqrt(m) < abs(d["mean"])), 1001)
        got, got_sd = seeds_needed(j)
        assert got == want and got_sd == pytest.approx(sd)
        assert f"{d['mean']:+.3f}" in seeds_words(j)
    assert seeds_needed(SimpleNamespace(interval=(math.nan, math.nan), seeds=0, estimate=math.nan))[0] is None
