"""Cost of the action ledger: training with the ledger watching against training without it.

The ledger is an observer of the run (one call per phase end, update and batch; it asks
for no integration steps). Both runs train the same scenario in the same process
through :func:`neurosim.training.loop.train`, alternating, best of ``--repeats`` each; the ratio
is ledger ÷ bare.

    python benchmarks/bench_ledger.py [--scenario scenarios/quickstart.yaml] [--max-batches 100]
                                      [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from neurosim.data.datasets import load_dataset
from neurosim.observe.ledger import Ledger
from neurosim.config.scenario import load_scenario
from neurosim.training.loop import train


def timed(scenario, dataset, max_batches: int, with_ledger: bool) -> float:
    observers = ()
    if with_ledger:
        observers = (Ledger(scenario.devices, 8 * np.dtype(scenario.training.dtype).itemsize),)
    start = time.perf_counter()
    train(scenario, dataset, epochs=1, max_batches=max_batches, observers=observers)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="scenarios/quickstart.yaml")
    parser.add_argument("--max-batches", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    dataset = load_dataset(scenario.data)
    timed(scenario, dataset, 2, True)  # compile the kernels
    bare, ledger = [], []
    for _ in range(args.repeats):
        bare.append(timed(scenario, dataset, args.max_batches, False))
        ledger.append(timed(scenario, dataset, args.max_batches, True))
    print(f"{scenario.name}: 1 epoch of {args.max_batches} batches (+ test batches), best of {args.repeats}")
    print(f"bare     {min(bare):.3f} s")
    print(f"ledger   {min(ledger):.3f} s   ratio {min(ledger) / min(bare):.3f}x")


if __name__ == "__main__":
    main()
