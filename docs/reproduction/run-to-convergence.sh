#!/bin/bash
# The paper's three networks on the embedded data for 15 epochs each (issue 15), one after the
# other, with the paper's fixed phases. Every run resumes from its last completed epoch, so
# stopping this script (or the machine) loses at most one epoch per network: run it again
# to continue. Run from the repository root; about 30-60 minutes per network on 2 cores.
set -e
OUT=${1:-runs/convergence}
EPOCHS=${EPOCHS:-15}
for name in paper-layered-global-rate paper-layered-per-layer-rates paper-layer-skipping; do
  neurosim run scenarios/$name.yaml --epochs "$EPOCHS" --out "$OUT/$name.h5" --resume --quiet
done
