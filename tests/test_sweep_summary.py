"""`dssl-lite report` (sweep.summary): the sweep summary's plots label their lines by the grid values."""
import json

import pytest

from dssl_lite.sweep import summary as report


def fake_sweep(out, axes, grid):
    """Finished run folders as a sweep leaves them: run.json (params) and result.json (metrics)."""
    (out / "sweep.json").write_text(json.dumps({"axes": axes}))
    for i, params in enumerate(grid):
        d = out / f"run{i}"
        d.mkdir()
        (d / "run.json").write_text(json.dumps({"params": params, "seconds": 1.0}))
        (d / "result.json").write_text(json.dumps({"robustness": 0.9 + 0.01 * i, "accuracy": 0.5}))


@pytest.mark.parametrize("axes, want", [
    (["alpha", "objective", "seed"], ["cl", "mim"]),                    # one hue axis: a plain name
    (["alpha", "objective", "topology"], ["cl, fl", "mim, fl"]),        # two: joined, never a tuple
])
def test_summary_legends_read_as_values(tmp_path, monkeypatch, axes, want):
    grid = [{"alpha": a, "objective": o, "seed": s, "topology": "fl"}
            for a in (0.1, 1.0) for o in ("mim", "cl") for s in (0, 1)]
    fake_sweep(tmp_path, axes, grid)
    legends = {}
    monkeypatch.setattr(report, "save_figure", lambda fig, path, dpi=120: legends.setdefault(
        path.name, sorted(t.get_text() for t in fig.axes[0].get_legend().get_texts())))
    table = report.sweep_summary(tmp_path)
    assert len(table) == 8 and legends == {"summary_robustness.png": want, "summary_accuracy.png": want}
