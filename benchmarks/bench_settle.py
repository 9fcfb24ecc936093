"""Phases that end when settled against the paper's fixed 500 free steps, in one run: batches
per second and the test error each reaches, for the paper's layered and layer-skipping
networks.

Each network trains ``--epochs`` epochs of at most ``--max-batches`` batches (and as many
test batches) twice from the same seed: with the scenario's fixed phases, then with
``dynamics.settle.free`` = {tolerance, max_steps: t_free}. The paper's setting (3 epochs,
every batch) takes hours on 2 cores; shorter runs are labelled as such.

    python benchmarks/bench_settle.py [--epochs 3] [--max-batches N] [--tolerance 1e-4]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from neurosim.config.scenario import load_scenario
from neurosim.observe.observer import Observer
from neurosim.training.loop import prepare, train_run

SCENARIOS = ["scenarios/paper-layered-global-rate.yaml", "scenarios/paper-layer-skipping.yaml"]


class FreeSteps(Observer):
    """The free phase's steps in every training batch."""

    def __init__(self):
        self.steps, self.batch = [], 0

    def on_phase_end(self, phase, steps, examples, model, stored=True):
        if phase == "free":
            self.batch = steps

    def on_train_batch(self, epoch, batch, record):
        self.steps.append(self.batch)


def measure(path: str, epochs: int, max_batches: int | None, settle: dict | None) -> dict:
    overrides = {"training.epochs": epochs, "trace.enabled": False}
    if settle:
        overrides["dynamics.settle"] = settle
    run = prepare(load_scenario(path, overrides))
    steps = FreeSteps()
    started = time.perf_counter()
    train_run(run, max_batches=max_batches, observers=[steps])
    seconds = time.perf_counter() - started
    return {"batches_per_s": len(run.batches) / seconds, "test_error": run.epochs[-1].test_error,
            "train_error": run.epochs[-1].train_error, "median_free_steps": float(np.median(steps.steps)),
            "p90_free_steps": float(np.percentile(steps.steps, 90))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", action="append")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-batches", type=int)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()
    print(f"{args.epochs} epoch(s) of {args.max_batches or 'all'} batches; settle: max|Δs| < {args.tolerance:g}")
    print(f"{'scenario':44} {'mode':7} {'batch/s':>8} {'ratio':>6} {'free steps (median, p90)':>26} "
          f"{'train err':>9} {'test err':>9}")
    for path in args.scenario or SCENARIOS:
        t_free = load_scenario(path).dynamics.t_free
        fixed = measure(path, args.epochs, args.max_batches, None)
        settled = measure(path, args.epochs, args.max_batches,
                          {"free": {"tolerance": args.tolerance, "max_steps": t_free}})
        for mode, r in (("fixed", fixed), ("settle", settled)):
            print(f"{path:44} {mode:7} {r['batches_per_s']:8.2f} {r['batches_per_s'] / fixed['batches_per_s']:6.2f} "
                  f"{r['median_free_steps']:>17.0f}, {r['p90_free_steps']:.0f} "
                  f"{100 * r['train_error']:8.1f}% {100 * r['test_error']:8.1f}%")


if __name__ == "__main__":
    main()
