"""Explorer latency: slider release -> cheap views, Run -> first loss point, `live` run complete.

Not a test (timings depend on the machine); run it and compare with the goals in docs/widgets.md:

    python scripts/bench_ui.py [--preset live] [--repeats 10] [--json]

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

GOALS = {"slider_to_views_ms": 200, "run_to_first_loss_s": 2.0, "live_complete_s": 10.0}


def slider_latency(ex, repeats: int) -> list[float]:
    """ms from setting alpha (what a slider release does) until both cheap views have redrawn."""
    for view in ex.views.values():
        view.min_interval = 0.0  # render every update: measure the full cost
    values = [0.01, 0.05, 0.3, 2.0, 30.0]
    out = []
    for i in range(repeats):
        before = ex.views["labels"].draws, ex.views["graph"].draws
        t0 = time.perf_counter()
        ex.controls["alpha"].value = values[i % len(values)]
        out.append((time.perf_counter() - t0) * 1e3)
        assert (ex.views["labels"].draws, ex.views["graph"].draws) > before
    return out


def run_latency(ex) -> dict:
    """Seconds from Run to the first loss point and to the finished result."""
    first = threading.Event()
    ex.model.listeners.append(lambda e, p: e == "round" and first.set())
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
    args = ap.parse_args()

    t0 = time.perf_counter()
    ex = build_explorer(args.preset, backend="image")
    build_s = time.perf_counter() - t0
    slider = slider_latency(ex, args.repeats)
    compute = []
    for a in (0.01, 0.05, 0.3, 2.0, 30.0) * 2:  # partition + graph alone, without drawing
        t = time.perf_counter()
        setting(ex.model.config.replace(alpha=a))
        compute.append((time.perf_counter() - t) * 1e3)
    ex.controls["alpha"].value = 0.1
    cold = run_latency(ex)          # trains the non-IID run and its IID baseline
    ex.controls["alpha"].value = 0.03
    warm = run_latency(ex)          # IID baseline now cached: one training
    report = {
        "preset": args.preset, "cpu_count": os.cpu_count(), "torch_threads": __import__("torch").get_num_threads(),
        "load_average": os.getloadavg(), "build_explorer_s": build_s,
        "slider_to_views_ms": {"median": statistics.median(slider), "max": max(slider)},
        "of which partition+graph_ms": statistics.median(compute),
        "run_to_first_loss_s": cold["first_loss_s"],
        "complete_cold_s (with IID baseline)": cold["complete_s"],
        "complete_warm_s (IID baseline cached)": warm["complete_s"],
        "goals": GOALS,
    }
    if args.json:
        print(json.dumps(report, indent=1))
        return
    for k, v in report.items():
        print(f"{k:40s} {v if not isinstance(v, float) else round(v, 3)}")


if __name__ == "__main__":
    main()
