"""Print the numbers docs/reproduction.md quotes from run files (complete or partial).

    python docs/reproduction/summarise.py runs/convergence/*.h5*

For every run: training and test error per epoch, and per epoch the mean RMS correction of
every adjacent layer pair (weight units per batch) with the ratios the paper's §4.2
discusses: output pair / first pair, output pair / the deep (non-output) pairs' mean, and the
largest / smallest among the deep pairs.
"""

from __future__ import annotations

import sys

import numpy as np

import neurosim
from neurosim.analysis.plots import adjacent_pairs


def summarise(path: str) -> str:
    run = neurosim.open_run(path)
    lines = [f"## {run.name} ({path}, {run.epochs_completed} epoch(s){'' if run.complete else ', partial'})", ""]
    epochs = np.arange(1, len(run.epoch["train_error"]) + 1)
    lines.append("| epoch | " + " | ".join(map(str, epochs)) + " |")
    lines.append("|---" * (len(epochs) + 1) + "|")
    for name in ("train_error", "test_error"):
        lines.append(f"| {name.replace('_', ' ')} | "
                     + " | ".join(f"{100 * v:.1f} %" for v in run.epoch[name]) + " |")
    pairs = adjacent_pairs(run.layer_pairs)
    columns = [run.layer_pairs.index(p) for p in pairs]
    rms, batch_epoch = run.batch["rms_correction"], run.batch["epoch"]
    lines += ["", "| epoch | " + " | ".join(pairs) + " | output / first | output / deep mean | deep max / min |",
              "|---" * (len(pairs) + 4) + "|"]
    for epoch in range(len(epochs)):
        mean = rms[batch_epoch == epoch][:, columns].mean(axis=0)
        deep = mean[:-1]
        lines.append(f"| {epoch + 1} | " + " | ".join(f"{v:.2e}" for v in mean)
                     + f" | {mean[-1] / mean[0]:.3g}× | {mean[-1] / deep.mean():.3g}× | {deep.max() / deep.min():.3g}× |")
    settle = (run.config.get("dynamics", {}).get("settle") or {}).get("free")
    if settle:
        steps, most = run.batch["steps"][:, 0], settle["max_steps"]
        lines += ["", "| epoch | free steps: mean | median | p90 | at max_steps |", "|---|---|---|---|---|"]
        for epoch in range(len(epochs)):
            taken = steps[batch_epoch == epoch]
            lines.append(f"| {epoch + 1} | {taken.mean():.0f} | {np.median(taken):.0f} | {np.percentile(taken, 90):.0f} "
                         f"| {100 * np.mean(taken == most):.1f} % |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        print(summarise(argument))
