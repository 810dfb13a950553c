#!/usr/bin/env bash
# The measurements behind docs/fidelity.md: one background process per dataset (2 at most on a
# shared 2-core box), one torch/BLAS thread each. Findings 1, 3, 4 share their MIM/CL runs (same
# preset values, memoised in-process), so their order matters: 1, 3, 4, then 2.
#   usage: scripts/fidelity_runs.sh SEEDS FINDINGS DATASET...     e.g. scripts/fidelity_runs.sh 5 1,3,4 mnist5k patches
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-5}; findings=${2:-1,3,4,2}; shift 2 || true
for ds in "${@:-mnist5k patches}"; do
  out=docs/fidelity/$ds
  mkdir -p "$out"
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 nohup .venv/bin/dssl-lite reproduce --finding "$findings" \
    --seeds "$seeds" --dataset "$ds" --out "$out" --threads 1 > "$out/stdout.md" 2> "$out/progress.log" &
  echo "$ds: pid $! -> $out"
done
