"""Quantised vs ideal devices: one EP training batch of the paper's layered network.

Times a batch (batch 20, 500 + 8 steps, update) with every quantisation point ideal and
with the shipped quantised device files, in the same run, and prints the ratio
quantised/ideal (the issue's budget: at most 1.5x).

    python benchmarks/bench_quantised.py [--repeats 5] [--steps 500]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from neurosim.datasets import load_embedded
from neurosim.scenario import scenario_from_dict
from neurosim.train import prepare

DEVICES = Path(__file__).parent.parent / "devices"


def batch_time(devices: str, steps: int, repeats: int, data) -> float:
    scenario = scenario_from_dict({"topology": {"sizes": [784, 500, 500, 500, 10]},
                                   "dynamics": {"t_free": steps, "t_clamped": 8},
                                   "training": {"batch_size": 20, "learning_rate": 0.02},
                                   "devices": devices}, None, DEVICES)
    run = prepare(scenario, data)
    ctl = run.controller
    x, y = data.train_x[:20].astype(np.float32), data.train_y[:20].astype(np.float32)
    start = np.zeros((20, run.network.topology.n_state), dtype=np.float32)

    def batch():
        ctl.free_phase(x, start)
        ctl.clamped_phase(x, y, 1.0)
        ctl.update_phase(x, 1.0)

    batch()  # compile, warm caches
    times = []
    for _ in range(repeats):
        begin = time.perf_counter()
        batch()
        times.append(time.perf_counter() - begin)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=500)
    args = parser.parse_args()
    data = load_embedded(train_size=20, test_size=20)
    ideal = batch_time("ideal.yaml", args.steps, args.repeats, data)
    print(f"{'ideal':24s} batch {ideal:7.3f} s")
    for name in ("analog-8bit", "analog-4bit", "analog-4bit-stochastic"):
        t = batch_time(f"{name}.yaml", args.steps, args.repeats, data)
        print(f"{name:24s} batch {t:7.3f} s   ratio to ideal {t / ideal:5.2f}x")


if __name__ == "__main__":
    main()
