#!/bin/bash
# The bit-depth studies of docs/bit-depth.md: weights and their updates at 4-16 bits, nearest and
# stochastic rounding, 5 seeds per setting against the float reference at the same seeds, on the
# per-layer-rates network and on the layer-skipping network. Every run is a point of the sweep
# engine: re-running the script continues where it stopped. Run from the repository root;
# WORKERS (default: one per core) sets the local worker processes.
set -e
OUT=${1:-docs/bit-depth}
workers=${WORKERS:+--workers $WORKERS}
for pair in per-layer-rates:bit-depth-weights layer-skipping:bit-depth-weights-skipping; do
  neurosim bitdepth "scenarios/${pair#*:}.yaml" --signal weights --bits 4,6,8,9,10,11,12,14,16 \
      --rounding nearest,stochastic --seeds 5 --margin 0.02 --out "runs/bit-depth/${pair%%:*}" $workers --quiet
  mkdir -p "$OUT/${pair%%:*}"
  cp runs/bit-depth/"${pair%%:*}"/bitdepth.{csv,md,png} "$OUT/${pair%%:*}/"
done
