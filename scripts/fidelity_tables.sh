#!/usr/bin/env bash
# Pool the seed folders of each dataset into one table set (no training): docs/fidelity/<ds>-all/
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/dssl-lite reproduce --merge docs/fidelity/mnist5k,docs/fidelity/mnist5k-seeds34 \
  --dataset mnist5k --out docs/fidelity/mnist5k-all > /dev/null
.venv/bin/dssl-lite reproduce --merge docs/fidelity/patches,docs/fidelity/patches-seed1,docs/fidelity/patches-seed2,docs/fidelity/patches-seeds34 \
  --dataset patches --out docs/fidelity/patches-all > /dev/null
.venv/bin/dssl-lite reproduce --merge docs/fidelity/mnist5k-finding2,docs/fidelity/mnist5k-finding2-seeds234 \
  --dataset mnist5k --out docs/fidelity/mnist5k-finding2-all > /dev/null
echo "docs/fidelity/mnist5k-finding2-all/report.md docs/fidelity/mnist5k-all/report.md docs/fidelity/patches-all/report.md"
