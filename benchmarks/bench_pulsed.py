"""Cost of analog synapses: a training batch on pulsed, noisy devices against the same batch
on exact ones, and the share of the weight write (``SynapseBank.apply``: the pulses) in it,
all measured in this run.

For each device setting it builds the scenario's network, trains ``--warm`` batches (to
leave the initial transient and compile the kernels), then times an epoch limited to
``--batches`` training and test batches (best of ``--repeats``), with the time spent in
the synapse bank's ``apply`` summed apart.

    python benchmarks/bench_pulsed.py [--scenario scenarios/quickstart.yaml] [--batches 20]
"""

from __future__ import annotations

import argparse
import time

from neurosim.config.scenario import load_scenario
from neurosim.training.loop import prepare, train_run

SETTINGS = {
    "exact (no device file)": {},
    "pulsed, constant step": {"synapse": {"pulsed": {"dw_min": 0.0005}}},
    "pulsed, soft bounds + c2c/d2d spread": {"synapse": {"pulsed": {
        "model": "soft_bounds", "dw_min": 0.0005, "dw_min_dtod": 0.3, "dw_min_std": 0.3}}},
    "+ output read noise (0.02)": {"synapse": {"pulsed": {
        "model": "soft_bounds", "dw_min": 0.0005, "dw_min_dtod": 0.3, "dw_min_std": 0.3},
        "read": {"out_noise": 0.02}}},
    "+ output and input read noise (0.02, 0.01)": {"synapse": {"pulsed": {
        "model": "soft_bounds", "dw_min": 0.0005, "dw_min_dtod": 0.3, "dw_min_std": 0.3},
        "read": {"out_noise": 0.02, "inp_noise": 0.01}}},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="scenarios/quickstart.yaml")
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--warm", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"{args.scenario}: {args.batches} batches per timing, best of {args.repeats}")
    print(f"{'devices':44} {'batch ms':>9} {'vs exact':>9} {'write ms':>9} {'write share':>12}")
    baseline = None
    for label, devices in SETTINGS.items():
        overrides = {"training.epochs": 1, "trace.enabled": False, **({"devices": devices} if devices else {})}
        scenario = load_scenario(args.scenario, overrides)
        run = prepare(scenario)
        train_run(run, epochs=1, max_batches=args.warm)
        synapses, spent = run.model.synapses, [0.0]
        apply = synapses.apply

        def timed(*a, **k):
            started = time.perf_counter()
            out = apply(*a, **k)
            spent[0] += time.perf_counter() - started
            return out

        synapses.apply = timed
        totals = []
        for _ in range(args.repeats):
            spent[0] = 0.0
            started = time.perf_counter()
            train_run(run, epochs=1, max_batches=args.batches)
            totals.append((time.perf_counter() - started, spent[0]))
        total, write = min(totals)
        batch = total / (2 * args.batches)
        baseline = baseline or batch
        print(f"{label:44} {1e3 * batch:9.2f} {batch / baseline:9.2f} {1e3 * write / args.batches:9.2f} "
              f"{write / total:12.1%}")
    print("batch: the training and test batches of one epoch, averaged; write: per training batch")


if __name__ == "__main__":
    main()
