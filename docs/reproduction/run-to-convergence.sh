#!/bin/bash
# The paper's three networks on the embedded data for 15 epochs each (issue 15), one after the
# other. Every run resumes from its last completed epoch, so stopping this script (or the
# machine) loses at most one epoch per network: run it again to continue. Run from the
# repository root.
#   docs/reproduction/run-to-convergence.sh [OUT] [NETWORK ...]
#       the paper's fixed phases (500 free steps); about 200-280 s per epoch of a layered
#       network and 550-630 s of the layer-skipping one on one core
#   SETTLE=1e-5 docs/reproduction/run-to-convergence.sh [OUT] [NETWORK ...]
#       free phases that end when max|Δs| < SETTLE (at most 500 steps), files *-settle.h5
#   SEED=1 docs/reproduction/run-to-convergence.sh [OUT] [NETWORK ...]
#       another seed than the scenario's 0, files *-seed1.h5
# NETWORK is global-rate, per-layer-rates or layer-skipping (default: all three).
set -e
OUT=${1:-runs/convergence}
shift || true
EPOCHS=${EPOCHS:-15}
options=()  # --set options of every run
suffix=""
if [ -n "$SETTLE" ]; then
  options=(--set "dynamics.settle={free: {tolerance: $SETTLE, max_steps: 500}}")
  suffix="-settle"
fi
if [ -n "$SEED" ]; then
  options+=(--set "seed=$SEED")
  suffix="$suffix-seed$SEED"
fi
networks=("$@")
[ ${#networks[@]} -gt 0 ] || networks=(global-rate per-layer-rates layer-skipping)
for network in "${networks[@]}"; do
  case $network in
    global-rate|per-layer-rates) name=paper-layered-$network ;;
    layer-skipping) name=paper-layer-skipping ;;
    *) echo "unknown network $network (global-rate, per-layer-rates, layer-skipping)" >&2; exit 2 ;;
  esac
  neurosim run scenarios/$name.yaml --epochs "$EPOCHS" "${options[@]}" --out "$OUT/$name$suffix.h5" --resume --quiet
done
