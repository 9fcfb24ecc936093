"""Whether each layer still carries the input, epoch by epoch, from a run file's trace of
the memory cell U0: the free phase's end state of the traced examples in the first
training batch of each epoch, so with the weights of the epochs trained before it.

For each hidden and output layer it prints two numbers per traced epoch:

* saturated: the share of (example, neuron) states at a bound, s ≤ 1e-6 or s ≥ 1 − 1e-6
  (the integrator clips s to [0, 1] and ρ(s) = s, so a small change of a bounded neuron's
  drive does not move it: it passes no change of the input up, nor the nudge down);
* spread: the mean over the layer's neurons of the standard deviation of s over the traced
  examples (state units). A spread near 0 means the layer's state no longer depends on
  the input, so nothing about the digit reaches the layers above it.

    python docs/reproduction/saturation.py RUN.h5 [RUN.h5 ...]
"""

from __future__ import annotations

import sys

import h5py
import numpy as np

BOUND = 1e-6


def layer_table(path: str) -> str:
    """The saturated share and the spread of every layer after every traced epoch."""
    try:
        f = h5py.File(path, "r", locking=False)
    except OSError as error:
        raise SystemExit(f"{path}: not a readable run file ({error})") from None
    with f:
        if "trace/u0/phase_end" not in f:
            raise SystemExit(f"{path}: holds no trace of U0 (run with trace.enabled: true)")
        trace = f["trace/u0/phase_end"]
        states = trace["values"][:]
        layers = trace["values"].attrs["neuron_layer"]
        epochs = trace["epoch"][:]
    names = sorted(set(layers.tolist()))
    lines = [f"## {path}", "",
             "saturated share / spread over the traced examples, per layer (columns), after each number of "
             "epochs trained (rows)", "",
             "| epochs trained | " + " | ".join(f"layer {n}" for n in names) + " |",
             "|---|" + "---|" * len(names)]
    for epoch, event in zip(epochs, states):
        cells = []
        for name in names:
            s = event[:, layers == name]
            s = s[~np.isnan(s).any(axis=1)]
            saturated = np.mean((s <= BOUND) | (s >= 1 - BOUND))
            cells.append(f"{100 * saturated:.0f} % / {np.mean(s.std(axis=0)):.1e}")
        lines.append(f"| {epoch} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    for path in sys.argv[1:]:
        print(layer_table(path), end="\n\n")


if __name__ == "__main__":
    main()
