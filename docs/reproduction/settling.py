"""How settled the free phase is after the paper's 500 steps, for the weights a run has
learnt: max over a batch of |s(t) − s(t − 1)| (the criterion of ``dynamics.settle``) at
chosen steps of a long free phase, and the first step at which it falls below 1e-4, 1e-5
and 1e-6. Each batch relaxes twice: from its persistent particles (what training does)
and from rest (what a test from zero does).

    python docs/reproduction/settling.py RUN.h5[.partial] [--steps 2000] [--batches 0 100]

The weights, particles and random streams are those of the run file's checkpoint (the
last completed epoch of a partial run; a complete run keeps none). The run's own settling
entry, if any, is dropped: every phase here runs all ``--steps`` steps.
"""

from __future__ import annotations

import argparse

import h5py
import numpy as np

import neurosim
from neurosim.runfile import checkpoint

MARKS = (1, 50, 100, 200, 300, 500, 1000, 1500, 2000, 3000, 5000)
TOLERANCES = (1e-4, 1e-5, 1e-6)


def step_changes(sim: neurosim.Simulation, x: np.ndarray, start: np.ndarray, steps: int) -> np.ndarray:
    """max |s(t) − s(t − 1)| over the batch, for t = 1 … steps, relaxing x from ``start``."""
    neurons = sim.model.neurons
    neurons.load(start)
    changes = np.empty(steps)
    for t in range(steps):
        previous = neurons.s.copy()
        sim.controller.relax(x, 1)
        changes[t] = np.max(np.abs(neurons.s - previous))
    return changes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batches", type=int, nargs="+", default=[0, 100])
    args = parser.parse_args()
    run = neurosim.open_run(args.run)
    config = dict(run.config)
    config["dynamics"] = {k: v for k, v in config["dynamics"].items() if k != "settle"}
    sim = neurosim.build(config)
    with h5py.File(run.path, "r", locking=False) as f:
        saved = checkpoint.read(f)
    if saved is None:
        raise SystemExit(f"{run.path}: holds no checkpoint (a complete run keeps none); give its .partial file")
    sim.run.restore(saved)
    size = sim.scenario.training.batch_size
    available = len(sim.dataset.train_x) // size
    if any(not 0 <= b < available for b in args.batches):
        raise SystemExit(f"--batches: {run.path} has training batches 0 to {available - 1}, got {args.batches}")
    print(f"{run.name}: weights after epoch {saved.epochs_completed}; max|Δs| per step over a batch of {size}")
    print(f"{'batch':>5} {'from':9} " + " ".join(f"{m:>7}" for m in MARKS if m <= args.steps)
          + "   first step below " + ", ".join(f"{t:g}" for t in TOLERANCES))
    for batch in args.batches:
        examples = np.arange(batch * size, (batch + 1) * size)
        x = sim.dataset.train_x[examples]
        particles = sim.run.train_particles.start(examples)
        for origin, start in (("particles", particles), ("rest", np.zeros_like(particles))):
            changes = step_changes(sim, x, start, args.steps)
            below = [int(np.argmax(changes < t)) + 1 if (changes < t).any() else None for t in TOLERANCES]
            print(f"{batch:5} {origin:9} " + " ".join(f"{changes[m - 1]:7.1e}" for m in MARKS if m <= args.steps)
                  + "   " + ", ".join(str(b) if b else f">{args.steps}" for b in below))


if __name__ == "__main__":
    main()
