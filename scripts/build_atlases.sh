#!/usr/bin/env bash
# Build (or resume) every atlas at the lesson scale and the regime map, one after another: each
# build uses every core through its worker processes (one intra-op thread each). Resumable: run it
# again and finished rows are skipped. Hours on 2 CPU cores.
set -u
cd "$(dirname "$0")/.."
DSSL=${DSSL:-.venv/bin/dssl-lite}
build() { echo "== $1 -> $2 ($(date +%H:%M:%S))"; $DSSL atlas build "$1" --out "$2"; }
build examples/atlas_live.yaml data/atlas/live.csv
build examples/atlas_live_drift.yaml data/atlas/live-drift.csv
build examples/regime_finding1.yaml data/atlas/regime-1.csv
build examples/regime_finding2.yaml data/atlas/regime-2.csv
build examples/regime_finding3.yaml data/atlas/regime-3.csv
build examples/regime_finding4.yaml data/atlas/regime-4.csv
echo "== done ($(date +%H:%M:%S))"
