#!/bin/bash
# The deep, narrow 784-100x10-10 network (issue 15): layered with one global rate, layered
# with per-layer rates, layer-skipping, 15 epochs each, one after the other. Every run
# resumes from its last completed epoch: run the script again to continue. Run from the
# repository root.
#   docs/reproduction/run-deep-narrow.sh [OUT]           embedded digits (8,000 / 2,000)
#   FASHION=/usr/share/datasets/fashion-mnist docs/reproduction/run-deep-narrow.sh [OUT]
#       full Fashion-MNIST (60,000 / 10,000) from the IDX files of Debian's
#       dataset-fashion-mnist package (apt-get install dataset-fashion-mnist)
set -e
OUT=${1:-runs/deep-narrow}
EPOCHS=${EPOCHS:-15}
data=()
suffix=""
if [ -n "$FASHION" ]; then
  data=(--set data.source=idx --set "data.path=$FASHION")
  suffix="-fashion"
fi
for name in paper-deep-narrow-global-rate paper-deep-narrow-per-layer-rates paper-deep-narrow-layer-skipping; do
  neurosim run scenarios/$name.yaml --epochs "$EPOCHS" "${data[@]}" --out "$OUT/$name$suffix.h5" --resume --quiet
done
