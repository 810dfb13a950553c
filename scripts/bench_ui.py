"""Explorer latency: slider release -> cheap charts and the atlas curve, Run -> first loss point,
a `live` Run (three seeds) complete.

Not a test (timings depend on the machine); run it and compare with the goals in docs/widgets.md:

    python scripts/bench_ui.py [--preset live] [--repeats 10] [--json] [--out docs/speed/ui.json]

Charts use the `image` backend with no throttling, so every update renders and PNG-encodes the
figure in the kernel: the same work ipympl does when the browser fetches a new frame.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import threading
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from dssl_widgets import build_explorer, setting  # noqa: E402

GOALS = {"slider_to_views_ms": 200, "atlas_redraw_ms": 200, "run_to_first_loss_s": 2.0}
ATLAS_ALPHAS = [0.01, 0.03, 0.1, 0.3, 1.0]  # the live atlas's alphas: the star lands on measured points


def slider_latency(ex, values) -> list[float]:
    """ms from setting alpha (what a slider release does) until every cheap chart and the atlas
    curve with its star have redrawn."""
    for chart in ex.charts.values():
        chart.min_interval = 0.0  # render every update: measure the full cost
    out = []
    for v in values:
        names = ("labels", "graph", "samples", "robustness")
        before = [ex.charts[n].draws for n in names]
        t0 = time.perf_counter()
        ex.controls["alpha"].value = v
        out.append((time.perf_counter() - t0) * 1e3)
        assert all(ex.charts[n].draws > b for n, b in zip(names, before))
    return out


def atlas_latency(ex, repeats: int) -> list[float]:
    """ms to look up the atlas curve through the current setting and redraw the chart with it."""
    from dssl_widgets.measured import atlas_curves

    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        ex.model.setting.atlas = atlas_curves(ex.model.config, ex.model.preset)
        ex.charts["robustness"].show_atlas(ex.model.setting, "alpha")
        out.append((time.perf_counter() - t0) * 1e3)
    return out


def run_latency(ex) -> dict:
    """Seconds from Run to the first loss point and to the finished result."""
    first = threading.Event()
    ex.model.watch(lambda ch: any(ch["new"].values()) and first.set(), "live")
    t0 = time.perf_counter()
    ex.run()
    first.wait(600)
    t_first = time.perf_counter() - t0
    assert ex.wait(600)
    return {"first_loss_s": t_first, "complete_s": time.perf_counter() - t0,
            "robustness": ex.results[-1].robustness}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="live")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--out", default=None, help="also write the JSON here (docs/widgets.md's table reads it)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    ex = build_explorer(args.preset, backend="image")
    build_s = time.perf_counter() - t0
    ex.controls["alpha"].value = 3.0           # away from the preset's alpha, so every move below is a change
    cold = slider_latency(ex, ATLAS_ALPHAS)   # first visit: partitions drawn (at small alpha, re-drawn)
    slider = slider_latency(ex, ATLAS_ALPHAS * max(1, args.repeats // len(ATLAS_ALPHAS)))  # cached
    atlas_ms = atlas_latency(ex, args.repeats)
    marker = ex.charts["robustness"].marker.get_xdata()
    compute = []
    for a in (0.01, 0.05, 0.3, 2.0, 30.0) * 2:  # partition + graph alone, without drawing
        t = time.perf_counter()
        setting(ex.model.config.replace(alpha=a))
        compute.append((time.perf_counter() - t) * 1e3)
    ex.controls["alpha"].value = 0.1
    estimate_s = ex.model.estimate  # what the page says before Run (bench.estimate, as every page asks it)
    first = run_latency(ex)         # trains every seed's non-IID run and IID baseline
    ex.controls["alpha"].value = 0.03
    warm = run_latency(ex)          # IID baselines now cached: one training per seed
    report = {
        "preset": args.preset, "cpu_count": os.cpu_count(), "torch_threads": __import__("torch").get_num_threads(),
        "load_average": os.getloadavg(), "build_explorer_s": build_s,
        "slider_to_views_ms (first visit)": {"median": statistics.median(cold), "max": max(cold)},
        "slider_to_views_ms": {"median": statistics.median(slider), "max": max(slider)},
        "atlas_redraw_ms": {"median": statistics.median(atlas_ms), "max": max(atlas_ms)},
        "atlas star at the slider": bool(len(marker)),
        "of which partition+graph_ms": statistics.median(compute),
        "seeds per Run": ex.model.seeds,
        "run_to_first_loss_s": first["first_loss_s"],
        "complete_cold_s (with IID baselines)": first["complete_s"],
        "complete_warm_s (IID baselines cached)": warm["complete_s"],
        "estimate_before_run_s": estimate_s,
        "goals": GOALS,
    }
    if args.out:
        from pathlib import Path

        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=1))
    if args.json:
        print(json.dumps(report, indent=1))
        return
    for k, v in report.items():
        print(f"{k:40s} {v if not isinstance(v, float) else round(v, 3)}")


if __name__ == "__main__":
    main()
