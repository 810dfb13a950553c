"""How long each teaching notebook takes: quick mode measured (executed by nbclient with CI=true,
kernel start included), full mode estimated from the runs it would train at the measured `live`
rates (`data/atlas/timings.json`: client-steps per second per objective on the measuring machine).

    python scripts/time_notebooks.py --out docs/speed/notebooks.json

docs/notebooks.md's table is generated from the JSON (`python scripts/generate_docs.py`).
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from dssl_lite import atlas, experiment, preset
from dssl_lite.bench import KIN, TIMINGS
from dssl_lite.findings import FINDINGS

ROOT = Path(__file__).resolve().parent.parent
SEEDS = range(5)


def full_runs(name: str) -> list:
    """The configs a notebook trains at its default parameters (mirrors its set-up cell)."""
    live = lambda **kw: preset("live", **kw)
    if name == "03_mim_vs_cl":
        return [live(objective=o, alpha=a, topology="fl") for o in ("mim", "cl") for a in (0.01, 0.03, 0.1, 0.3, 1.0)]
    if name == "04_connectivity":
        return [c for _, c in FINDINGS[2].arms(live(objective="cl", alpha=0.01), degrees=[2, 4, 8])]
    if name == "05_mar":
        return [live(objective=o, alpha=a, topology="fl") for o in ("mim", "mar") for a in (0.01, 0.1, 1.0)]
    return []


NOTES = {"01_non_iid_data": "no training: as quick, with all alphas and seeds",
         "02_topology_and_mixing": "no training: as quick, with all degrees and seeds",
         "06_feature_spaces": "not estimated: trains `teach-features` at two seeds, then UMAP",
         "07_summary": "no training: the same as quick"}


def full_estimate(name: str, rates: dict) -> float | None:
    """Seconds to train a notebook's runs and their references once each, at the measured rates."""
    cfgs = [c.replace(seed=s) for c in full_runs(name) for s in SEEDS]
    if not cfgs:
        return None
    todo = {c.train_key(): c for c in cfgs}
    todo.update({b.train_key(): b for c in cfgs for b in experiment.baselines(c)})
    steps = lambda c: c.clients * c.rounds * c.local_steps * (c.participation if c.is_federated else 1.0)
    return sum(steps(c) / rates[c.objective if c.objective in rates else KIN[c.objective]] for c in todo.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/speed/notebooks.json")
    a = ap.parse_args()
    timings = json.loads((atlas.SHIPPED / TIMINGS).read_text())
    os.environ["CI"] = "true"
    out = {"cpu": atlas.machine()["cpu"], "cores": os.cpu_count(), "load_average_before": os.getloadavg()[0],
           "notebooks": {}}
    for path in sorted((ROOT / "notebooks").glob("0[1-7]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            NotebookClient(nb, timeout=1200, kernel_name="python3", resources={"metadata": {"path": tmp}}).execute()
            quick = time.perf_counter() - t0
        out["notebooks"][path.stem] = {"quick_s": quick, "full_estimate_s": full_estimate(path.stem, timings["client_steps_per_s"]),
                                       "full_note": NOTES.get(path.stem, "")}
        print(path.stem, out["notebooks"][path.stem], flush=True)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
