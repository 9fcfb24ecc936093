"""Quantised vs ideal devices: one EP training batch of the paper's layered network.

Times a batch (batch 20, 500 + 8 steps, update) with every quantisation point ideal and
with the shipped quantised device files, in the same run, and prints the ratio
quantised/ideal (the issue's budget: at most 1.5x). Each time is the best of
``--repeats`` batches; the machine's load average is printed beside it, since a loaded
machine slows whatever runs last. The last line is a worst case no shipped file has:
every neuron point (ADC, state, DAC) with stochastic rounding, so the step kernel draws
three random numbers per neuron and step.

    python benchmarks/bench_quantised.py [--repeats 5] [--steps 500]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from neurosim.data.datasets import load_embedded
from neurosim.config.scenario import scenario_from_dict
from neurosim.training.loop import prepare

DEVICES = Path(__file__).parent.parent / "devices"
STOCHASTIC_NEURONS = {f"neuron.{p}.rounding": "stochastic" for p in ("current", "state")} | {
    "synapse.activation.rounding": "stochastic"}


def batch_time(devices: str, steps: int, repeats: int, data, overrides: dict | None = None) -> float:
    content = {"topology": {"sizes": [784, 500, 500, 500, 10]},
               "dynamics": {"t_free": steps, "t_clamped": 8},
               "training": {"batch_size": 20, "learning_rate": 0.02},
               "devices": devices}
    if overrides:
        content["device_overrides"] = overrides
    run = prepare(scenario_from_dict(content, None, DEVICES), data)
    ctl = run.controller
    x, y = data.train_x[:20].astype(np.float32), data.train_y[:20].astype(np.float32)
    start = np.zeros((20, run.model.topology.n_state), dtype=np.float32)

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
    load = "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    print(f"{'ideal':32s} batch {ideal:7.3f} s                        {load}")
    cases = [(name, f"{name}.yaml", None) for name in ("analog-8bit", "analog-4bit", "analog-4bit-stochastic")]
    cases.append(("analog-4bit, stochastic neurons", "analog-4bit-stochastic.yaml", STOCHASTIC_NEURONS))
    for label, devices, overrides in cases:
        t = batch_time(devices, args.steps, args.repeats, data, overrides)
        load = "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
        print(f"{label:32s} batch {t:7.3f} s   ratio to ideal {t / ideal:5.2f}x   {load}")


if __name__ == "__main__":
    main()
