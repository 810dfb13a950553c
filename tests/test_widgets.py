"""The explorer and the lesson without a browser: controls -> draft -> charts, with the real engine
(`tiny`) and the shipped atlases (`live-short`, measured in full)."""
import html
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest
import yaml

pytest.importorskip("ipywidgets")
from dssl_lite.config import from_dict  # noqa: E402
from dssl_lite.findings import FINDINGS, judgement  # noqa: E402
from dssl_lite.presets import PRESETS, preset  # noqa: E402
from dssl_lite.registry import OBJECTIVES  # noqa: E402
from dssl_widgets import build_explorer  # noqa: E402
from dssl_widgets.charts import text_problems  # noqa: E402
from dssl_widgets.robustness_chart import IID_X  # noqa: E402


class HoldAtFirstRound:
    """A watcher that holds the training thread at its first round (the first change of `live`)
    until released, so a test acts during a run however fast or slow the machine is."""

    def __init__(self, model):
        self.reached, self.release = threading.Event(), threading.Event()
        model.watch(self, "live")

    def __call__(self, change):
        if any(change["new"].values()) and not self.reached.is_set():
            self.reached.set()
            assert self.release.wait(60)

    def __enter__(self):
        assert self.reached.wait(60), "the run never reported a round"
        return self

    def __exit__(self, *exc):
        self.release.set()


def problems(ex) -> dict:
    """Every chart's clipped or small words ({} when none)."""
    return {k: p for k, c in ex.charts.items() if (p := c.text_problems())}


def test_controls_update_cheap_views_without_training():
    ex = build_explorer("tiny", backend="image", seeds=1)
    labels, graph = ex.charts["labels"], ex.charts["graph"]
    before = labels.im.get_array().copy()
    ex.controls["alpha"].value = 0.02
    assert not np.array_equal(labels.im.get_array(), before)
    assert ex.model.config.alpha == pytest.approx(0.02) and ex.model.draft.alpha == pytest.approx(0.02)
    ex.controls["topology"].value = "ring"
    assert len(graph.edges.get_segments()) == ex.model.config.clients  # a ring has K edges
    ex.controls["clients"].value = 6
    assert len(graph.nodes.get_offsets()) == 6 and labels.im.get_array().shape[0] == 6
    assert "average degree 2.0" in graph.title.get_text()
    ex.controls["iid"].value = True
    assert ex.model.config.alpha is None and ex.model.setting.heterogeneity < 0.1
    assert ex.controls["alpha"].disabled
    assert ex.model.attempts == [] and ex.results == []  # nothing trained
    assert labels.widget.value  # a PNG was rendered
    ex.close()


def test_a_parts_fields_are_on_show_while_a_chosen_part_reads_them():
    """The controls of a part's own fields come from the registry: mask ratio for MIM and MAR,
    MAR's weight for MAR, the degree for the graphs that read one, participation for FL."""
    ex = build_explorer("tiny", backend="image", seeds=1)
    shown = lambda name: ex.inputs.row(name).layout.display != "none"
    assert shown("mask_ratio") and shown("participation") and not shown("degree") and not shown("mar_weight")
    ex.controls["objective"].value = "mar"
    ex.controls["topology"].value = "regular"
    assert shown("mar_weight") and shown("mask_ratio") and shown("degree") and not shown("participation")
    ex.controls["mar_weight"].value = 0.01
    assert ex.model.config.mar_weight == pytest.approx(0.01)
    assert shown("dropout")  # failed links on a graph, lost updates in FL: a slider from its Param
    ex.controls["dropout"].value = 0.2
    assert ex.model.config.dropout == pytest.approx(0.2)
    ex.controls["objective"].value = "cl"
    assert not shown("mask_ratio") and not shown("mar_weight")
    assert "SimSiam" in ex.inputs.part_help["objective"].value  # help from the registry
    ex.controls["topology"].value = "star"
    assert "hub" in ex.inputs.part_help["topology"].value
    ex.close()


PLUGIN = textwrap.dedent('''
    from dssl_lite.registry import TOPOLOGIES, Param
    from dssl_lite.topologies.graphs import WITH_DEGREE
    from dssl_lite.topologies import get

    LOSSY = Param("lossy_share", 0.5, "a toy graph's share of lost messages", lo=0.0, hi=1.0)
    TOPOLOGIES.register("toy_ring", "a toy graph: the ring, with a field of its own",
                        params=(*WITH_DEGREE, LOSSY), colour="#123456")(get("ring"))
''')


def test_a_new_parts_field_appears_without_editing_the_explorer(tmp_path):
    """A graph registered in a file outside the package, with a field of its own: the explorer
    offers it and shows a control for its field, bound to the draft."""
    (tmp_path / "toy_graph.py").write_text(PLUGIN)
    code = ("from dssl_widgets import build_explorer\n"
            "ex = build_explorer('tiny', backend='image', seeds=1)\n"
            "assert 'toy_ring' in ex.controls['topology'].options\n"
            "assert ex.inputs.row('lossy_share').layout.display == 'none'\n"
            "ex.controls['topology'].value = 'toy_ring'\n"
            "assert ex.inputs.row('lossy_share').layout.display != 'none'\n"
            "ex.controls['lossy_share'].value = 0.25\n"
            "assert ex.model.config.lossy_share == 0.25, ex.model.error\n"
            "print('ok')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "DSSL_PLUGINS": "toy_graph", "DSSL_WORKERS": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-2000:]


def test_run_adds_a_result_with_robustness():
    ex = build_explorer("tiny", backend="image", seeds=1)
    assert ex.run() and ex.wait(90)
    assert len(ex.results) == 1
    res = ex.results[0]
    assert res.config == ex.model.config.as_dict() and 0 < res.robustness < 5
    xs, ys = ex.charts["loss"].main.get_data()
    assert list(xs) == list(range(1, ex.model.config.rounds + 1))
    assert len(ex.charts["robustness"].points["mim", "FL"].get_offsets()) == 1
    ex.controls["x_axis"].value = "degree"  # the graphs axis: FL's server reaches all K-1 others
    chart = ex.charts["robustness"]
    x = chart.points["mim", "FL"].get_offsets()[0][0]
    ticks = {round(t): lab.get_text() for t, lab in zip(chart.ax.get_xticks(), chart.ax.get_xticklabels())}
    assert ticks[round(x)] == f"fl\n({ex.model.config.clients - 1:.1f})"
    ex.controls["x_axis"].value = "traffic"  # the same run at the megabytes it sent per round
    from dssl_lite.traffic import communication

    x = chart.points["mim", "FL"].get_offsets()[0][0]
    assert x == pytest.approx(communication(ex.model.config)["bytes_per_round"] / 1e6) and chart.ax.get_xscale() == "log"
    assert "<b>1</b> setting(s) finished" in ex.runs.status.value and f"{res.robustness:.3f}" in ex.runs.status.value
    ex.model.pin()
    assert len(ex.charts["loss"].ghost.get_data()[0]) == ex.model.config.rounds
    assert problems(ex) == {}
    ex.close()


def test_no_word_on_any_chart_is_clipped_or_under_14_px():
    """In every state a lesson shows: the alpha axis with the atlas, the graphs axis, each
    reference, a graph with its gap, the empty loss chart."""
    ex = build_explorer("live-short", backend="image", seeds=1)
    assert problems(ex) == {}
    ex.controls["x_axis"].value = "degree"
    ex.controls["reference"].value = "same-graph"
    assert problems(ex) == {}
    ex.controls["topology"].value = "min_degree"
    ex.controls["degree"].value = 4
    ex.controls["compare"].children[2].value = True  # mar too
    assert problems(ex) == {}
    ex.controls["x_axis"].value = "traffic"  # each graph named beside its point
    assert problems(ex) == {} and "MB sent per round" in ex.charts["robustness"].ax.get_xlabel()
    ex.close()


def test_curves_join_only_measured_alphas_and_runs_sit_above_the_atlas():
    """The atlas line joins measured alphas only (IID is a point apart, not a line through 10 and
    100); bands and IID bars are inside the y range; runs are drawn above the star; the legend
    names every curve; each objective in its registry colour."""
    ex = build_explorer("live-short", backend="image", seeds=1)
    chart, table = ex.charts["robustness"], ex.model.setting.atlas["mim"]["alpha"]
    measured = sorted(float(a) for a in table["x"] if np.isfinite(a))
    for obj in ("mim", "cl"):
        line = chart.lines[obj]
        assert sorted(line.get_xdata()) == pytest.approx(measured), line.get_xdata()
        assert line.get_color() == OBJECTIVES.colour(obj)
        assert list(chart.iid_marks[obj][0].get_xdata()) == [IID_X]  # IID: a point of its own
    lo, hi = chart.ax.get_ylim()
    for band in chart.bands:
        ys = band.get_paths()[0].vertices[:, 1]
        assert lo <= ys.min() and ys.max() <= hi
    assert all(sc.get_zorder() > chart.marker.get_zorder() for sc in chart.points.values())
    legend = [t.get_text() for t in chart.ax.get_legend().get_texts()]
    assert legend[:2] == ["mim: atlas (band: +-1 sd)", "cl: atlas (band: +-1 sd)"] and "this setting (atlas)" in legend
    ex.close()


def test_the_feature_picture_keeps_every_class_in_its_legend():
    """One run's column is narrow: the class legend wraps instead of losing classes at its ends."""
    from dssl_lite.features import FeatureSpaces
    from dssl_widgets.features_panel import figure

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 5)
    fs = FeatureSpaces(points={("mim", k): rng.normal(size=(50, 2)) for k in (0, 3, "global")},
                       labels={"mim": labels},
                       metrics=[{"objective": "mim", "model": "local", "client": k, "tv": 0.5, "cka": 0.9,
                                 "mmd2": 0.01, "knn_acc": 0.8} for k in (0, 3)]
                       + [{"objective": "mim", "model": "global", "client": None, "tv": 0.0, "cka": float("nan"),
                           "mmd2": float("nan"), "knn_acc": 0.8}])
    fig = figure(fs)
    words = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
    assert words == [str(c) for c in range(10)]
    assert [p for p in text_problems(fig, min_px=0) if "clipped" in p] == []


def test_moving_alpha_during_a_run_does_not_lose_it():
    """Run on every change off: a control moved during a run waits for the next Run; the run
    finishes. The next Run ("Stop and run this") trains the new setting; a second press is ignored."""
    ex = build_explorer("tiny", backend="image", seeds=1, rounds=4)
    hold = HoldAtFirstRound(ex.model)
    ex.run()
    with hold:
        ex.controls["alpha"].value = 0.05   # does not cancel: the draft is pending
        assert ex.model.pending and ex.runs.run_button.description == "Stop and run this"
    assert ex.wait(120)
    first, = ex.model.attempts
    assert first.status == "finished" and first.config.alpha == pytest.approx(0.1)
    assert not ex.model.pending and ex.runs.run_button.description == "Run"
    assert ex.run() and ex.run()  # the second press of the same setting is ignored
    assert ex.wait(120)
    assert [a.config.alpha for a in ex.model.attempts] == pytest.approx([0.1, 0.05])
    assert [r.config["alpha"] for r in ex.results] == pytest.approx([0.1, 0.05])
    ex.close()


def test_with_run_on_every_change_a_move_restarts_the_run_within_a_round():
    ex = build_explorer("tiny", backend="image", seeds=1, rounds=8)
    ex.controls["auto_run"].value = True
    hold = HoldAtFirstRound(ex.model)
    ex.run()
    with hold:
        ex.controls["alpha"].value = 0.05   # cancels the run and queues the new config
    assert ex.wait(120)
    first, *rest = ex.model.attempts
    assert first.status == "stopped" and first.config.alpha == pytest.approx(0.1)
    asked, done = first.stop_requested_at, first.rounds
    assert done["non_iid"] - asked["non_iid"] <= 1 and done["iid"] - asked["iid"] <= 1  # side by side
    assert done["non_iid"] < 8
    assert rest and rest[-1].status == "finished"
    assert len(ex.results) == 1 and ex.results[0].config["alpha"] == pytest.approx(0.05)
    ex.close()


def test_bad_value_shows_inline_error_and_keeps_results():
    ex = build_explorer("tiny", backend="image", seeds=1)
    assert ex.run() and ex.wait(90)
    ex.controls["topology"].value = "regular"
    ex.controls["clients"].value = 5          # valid with degree 2
    edges = len(ex.charts["graph"].edges.get_segments())
    ex.controls["degree"].value = 3          # 5 x 3 is odd: no 3-regular graph on 5 nodes
    assert "even" in ex.errors["degree"].value and "dssl-error" in ex.errors["degree"].value
    assert ex.runs.run_button.disabled and not ex.run()  # an invalid draft does not start
    assert len(ex.results) == 1 and ex.results[0].robustness > 0
    assert len(ex.charts["graph"].edges.get_segments()) == edges == 5  # last valid graph stays
    ex.controls["degree"].value = 2
    assert ex.errors["degree"].value == "" and ex.model.config.degree == 2 and not ex.runs.run_button.disabled
    ex.close()


def test_stop_leaves_the_explorer_usable():
    ex = build_explorer("tiny", backend="image", seeds=1, rounds=40)
    hold = HoldAtFirstRound(ex.model)
    ex.run()
    with hold:
        ex.stop()
    assert ex.wait(60)
    assert ex.model.attempts[-1].status == "stopped" and ex.results == []
    assert "stopped" in ex.runs.status.value
    ex.controls["rounds"].value = 2         # not running any more: only the draft changes
    assert len(ex.model.attempts) == 1
    assert ex.run() and ex.wait(90)
    assert len(ex.results) == 1 and ex.results[0].config["rounds"] == 2
    ex.close()


def test_copy_config_is_yaml_the_engine_accepts():
    ex = build_explorer("tiny", backend="image", seeds=1)
    ex.controls["objective"].value = "cl"
    ex.controls["iid"].value = True
    ex.runs.copy_button.click()
    values = yaml.safe_load(ex.runs.yaml.value)
    assert values == ex.model.config.as_dict() and values["alpha"] is None
    assert from_dict(values) == ex.model.config
    ex.close()


def test_copy_link_opens_the_same_page_and_a_bad_link_says_why():
    ex = build_explorer("live-short", backend="image", seeds=2)
    ex.controls["alpha"].value = 0.1
    ex.controls["objective"].value = "cl"
    ex.controls["compare"].children[2].value = True  # mar ticked
    ex.controls["x_axis"].value = "degree"
    ex.runs.link_button.click()
    url = ex.runs.link.value
    assert url.startswith("?preset=live-short&") and ex.runs.link.layout.display == "block"
    again = build_explorer("tiny", backend="image", link=url)
    assert again.model.draft.values() == ex.model.draft.values() and again.model.preset == "live-short"
    assert again.model.compare == ["mim", "cl", "mar"] and again.controls["compare"].children[2].value
    assert again.controls["x_axis"].value == "degree" and again.model.seeds == 2
    bad = build_explorer("tiny", backend="image", link="?alpha=lots")
    said = html.unescape(bad.errors["general"].value + bad.errors["alpha"].value)
    assert "this link: alpha: got 'lots'; allowed: a number > 0 or 'iid'" in said
    assert bad.model.config == preset("tiny") and bad.model.error is None
    for e in (ex, again, bad):
        e.close()


def test_reset_resets_everything():
    """Reset: the preset by name (not "custom"), the seeds the page opened with, no per-client
    loss lines, an empty progress bar, the feature panel as before any run."""
    from dssl_widgets.loss_chart import NO_RUN

    ex = build_explorer("tiny", backend="image", seeds=2)
    ex.controls["seeds"].value = 1
    ex.controls["clients"].value = 5
    assert ex.controls["preset"].value == "custom"
    assert ex.run() and ex.wait(90) and ex.runs.progress.value == 1
    ex.features.table.value = "old runs"
    ex.runs.copy_button.click()
    ex.runs.reset_button.click()
    assert ex.wait(30) and not ex.model.simulators and not ex.results
    assert ex.controls["preset"].value == "tiny" and ex.controls["seeds"].value == 2 and ex.controls["clients"].value == 4
    loss = ex.charts["loss"]
    assert loss.client_lines == [] and not len(loss.main.get_xdata()) and loss.ax.get_title() == NO_RUN
    assert ex.runs.progress.value == 0 and ex.runs.progress.layout.visibility == "hidden"
    assert ex.features.table.value == "" and ex.features.image.layout.display == "none"
    assert ex.runs.yaml.layout.display == "none" and "no runs yet" in ex.runs.status.value
    assert not len(ex.charts["robustness"].points["mim", "FL"].get_offsets())
    ex.features.button.click()  # nothing to compare now: it says so
    from dssl_widgets.features_panel import NOTHING_YET
    assert ex.features.table.value == NOTHING_YET
    ex.close()


def test_preset_menu_loads_a_preset():
    ex = build_explorer("tiny", backend="image", seeds=1)
    ex.controls["clients"].value = 7
    assert ex.controls["preset"].value == "custom"
    ex.controls["preset"].value = "live"
    assert ex.controls["clients"].value == 10 and ex.model.config.rounds == PRESETS["live"]["rounds"]
    ex.close()


def test_seeds_give_a_point_with_its_spread_and_a_paired_comparison():
    ex = build_explorer("tiny", backend="image", seeds=3, objective="cl")
    assert ex.run() and ex.wait(180)
    point = ex.results[-1]
    assert point.seeds == [0, 1, 2] and len(point.runs) == 3
    seg = ex.charts["robustness"].bars["cl", "FL"].get_segments()[0]
    assert seg[1][1] - seg[0][1] == pytest.approx(2 * point.robustness_sd)  # the bar is +- 1 sd
    assert "+-" in ex.runs.status.value and ex.runs.progress.value == 1
    ex.controls["alpha"].value = 0.01
    assert ex.run() and ex.wait(180)
    assert "paired interval" in ex.runs.comparison.value and "3 seeds" in ex.runs.comparison.value
    ex.close()


def test_a_setting_that_cannot_be_split_adapts_or_disables_run():
    ex = build_explorer("tiny", backend="image", seeds=1, alpha=0.0316)
    ex.controls["clients"].value = 26
    assert "lowered" in ex.notice.value and ex.model.config.clients == 26
    assert len(ex.charts["graph"].nodes.get_offsets()) == 26 and not ex.runs.run_button.disabled
    ex.controls["alpha"].value = 0.01
    ex.controls["clients"].value = 60
    assert "cannot all get images" in ex.errors["clients"].value and ex.runs.run_button.disabled
    assert not ex.run()
    ex.controls["clients"].value = 8
    assert not ex.runs.run_button.disabled and ex.errors["clients"].value == ""
    ex.close()


def test_moving_alpha_from_iid_to_001_moves_cl_robustness_beyond_its_spread_in_the_atlas():
    """On the shipped atlas: with objective cl, the robustness the explorer reads out at alpha
    0.01 differs from IID's by more than the seeds' spread (no training: the atlas answers)."""
    ex = build_explorer("live-short", backend="image", objective="cl")
    ex.controls["iid"].value = True
    at_iid = ex.charts["robustness"].marker.get_ydata()[0]
    ex.controls["iid"].value = False
    ex.controls["alpha"].value = 0.01
    at_001 = ex.charts["robustness"].marker.get_ydata()[0]
    curve = ex.model.setting.atlas["cl"]["alpha"]
    sd = float(curve[np.isclose(curve["x"].astype(float), 0.01)]["robustness_sd"].iloc[0])
    assert at_iid == pytest.approx(1.0) and at_iid - at_001 > sd > 0
    assert "atlas here" in ex.charts["robustness"].note
    ex.close()


def test_the_lesson_walks_findings_1_to_4():
    """Each screen: its question, the measurement hidden until a guess is committed, then the
    curves, the registry's verdict under the chart, the seeds it needs, where it holds; the next
    screen. No chart word clipped or small."""
    les = build_explorer("live-short", backend="image", mode="lesson")
    for n in FINDINGS:
        assert les.lesson.finding == n and f"Finding {n} of 4" in les.title.value
        assert les.reveal_button.disabled and les.verdict.value == "" and les.where_button.disabled
        chart = les.charts["drift" if n == 4 else "robustness"]
        assert "hidden" in chart.note
        les.answers.value = les.answers.options[0]
        les.reveal_button.click()
        assert "hidden" not in chart.note and les.lesson.shown
        assert f"data-finding='{n}'" in les.verdict.value and f"data-verdict='{judgement(n).verdict}'" in les.verdict.value
        assert "How many seeds would this need?" in les.seeds.value and "You predicted" in les.outcome.value
        les.where_button.value = True
        assert f"data-finding='{n}'" in les.regime.value
        assert chart.text_problems() == []
        if n == 1:
            assert les.charts["robustness"].drawn == {"mim": 6, "cl": 6}
            les.controls["alpha"].value = 0.1  # the verdict follows the slider
            assert "At this setting" in les.verdict.value and "alpha 0.1" in les.verdict.value
        if n == 2:
            assert les.model.x_axis == "degree" and "ring (" in chart.describe()
            assert les.inputs.row("reference") in les.controls_box.children  # "relative to?" beside the graphs
        les.next_button.click()
    assert les.lesson.finding == 4 and les.next_button.disabled
    les.link_button.click()
    assert "mode=lesson" in les.link.value and "finding=4" in les.link.value
    les.close()
