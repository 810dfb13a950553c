#!/usr/bin/env bash
# One command on a CUDA machine: the oracle tests on CUDA, bench at 10/100/1,000 clients, the live
# preset end to end and one round of each paper-* preset, all into one JSON (gpu_check.json).
#   bash scripts/gpu_check.sh [OUT.json]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-gpu_check.json}
PY=${PY:-.venv/bin/python}
"$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 'no CUDA device: nothing to check')"
# device="auto" picks CUDA, so the tests' presets run there
"$PY" -m pytest -q tests/test_simulator.py -k "oracle or stacked or parallel" -p no:cacheprovider \
  --junitxml=/tmp/gpu_oracle.xml || true
"$PY" - "$OUT" <<'PY'
import json, sys, time, xml.etree.ElementTree as ET
import torch
from dssl_lite import preset
from dssl_lite.bench import bench, profile_step
from dssl_lite.experiment import run
from dssl_lite.simulator import Simulator

root = ET.parse("/tmp/gpu_oracle.xml").getroot()
suite = root if root.tag == "testsuite" else root.find("testsuite")
out = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__,
       "oracle_tests": {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}}
out["bench"] = bench(clients=(10, 100, 1000), steps=5, live=True)
out["profile_100"] = profile_step(100)
paper = {}
for name in ("paper-mim-vs-cl", "paper-connectivity", "paper-mar", "paper-features"):
    try:
        sim = Simulator(preset(name, rounds=1))
        t = time.perf_counter()
        next(sim.rounds())
        torch.cuda.synchronize()
        paper[name] = {"one_round_seconds": time.perf_counter() - t,
                       "peak_gb": torch.cuda.max_memory_allocated() / 2**30}
    except (FileNotFoundError, ValueError) as e:  # CIFAR not downloaded: `dssl-lite data cifar10`
        paper[name] = {"error": str(e).splitlines()[0]}
out["paper_one_round"] = paper
json.dump(out, open(sys.argv[1], "w"), indent=1, default=str)
print(json.dumps({k: v for k, v in out.items() if k != "profile_100"}, indent=1, default=str))
PY
echo "wrote $OUT"
