#!/bin/bash
# Figure 5 over a whole first epoch (issue 15): the layer-skipping network at several
# rewired fractions p, 3 seeds each, on the sweep engine (re-running continues where it
# stopped), then the figure with the seeds' mean and 95 % interval. The largest p runs first:
# a sweep stopped early then has the points where learning starts. Run from the repository
# root; WORKERS (default: one per core) sets the local worker processes.
set -e
OUT=${1:-runs/p-sweep}
workers=${WORKERS:+--workers $WORKERS}
neurosim sweep scenarios/paper-p-sweep.yaml --grid topology.p=0.0756,0.01,0.001,0.0001 --seeds 3 \
    --out "$OUT" $workers --quiet
neurosim plot "$OUT"/topology.p=*_seed=*.h5 --kind p-sweep --out docs/figures/fig5-p-sweep-seeds.png
