"""One EP training batch of the paper's 784-500-500-500-10 network against the BLAS floor.

The floor is the bare matrix products that batch needs, timed in the same run on the same
arrays: per integration step one product per recurrent block and direction; per phase one
input-current product per input block; in the update phase one product per block. The
ratio batch/floor is the simulator's overhead (element-wise kernels, bookkeeping, Python).

    python benchmarks/bench_training_batch.py [--dtype float32|float64] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from neurosim.data.datasets import load_embedded
from neurosim.config.scenario import scenario_from_dict
from neurosim.training.loop import prepare


def paper_scenario(kind: str, dtype: str):
    topology = {"kind": "layered", "sizes": [784, 500, 500, 500, 10]}
    if kind == "layer_skipping":
        topology.update(kind="layer_skipping", n=100_000)
    return scenario_from_dict({"topology": topology, "dynamics": {"t_free": 500, "t_clamped": 8},
                               "training": {"batch_size": 20, "learning_rate": 0.02, "dtype": dtype}})


def best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def bench(kind: str, dtype: str, repeats: int, data) -> None:
    run = prepare(paper_scenario(kind, dtype), data)
    ctl, synapses = run.controller, run.model.synapses
    x, y = data.train_x[:20].astype(dtype), data.train_y[:20].astype(dtype)
    start = np.zeros((20, run.model.topology.n_state), dtype=dtype)

    def batch():
        ctl.free_phase(x, start)
        ctl.clamped_phase(x, y, 1.0)
        ctl.update_phase(x, 1.0)

    r = np.random.default_rng(0).uniform(0, 1, (20, synapses.size)).astype(dtype)
    out = np.zeros_like(r)
    steps = 500 + 8

    def floor():
        for _ in range(2):  # input currents, once per phase
            for (a, b) in synapses.input_pairs:
                np.matmul(x, synapses.weights[(a, b)], out=out[:, synapses.slices[b]])
        for _ in range(steps):
            for (a, b) in synapses.recurrent_pairs:
                w = synapses.weights[(a, b)]
                np.matmul(r[:, synapses.slices[a]], w, out=out[:, synapses.slices[b]])
                if a != b:
                    np.matmul(r[:, synapses.slices[b]], w.T, out=out[:, synapses.slices[a]])
        both = np.concatenate([r, r])
        for (a, b) in synapses.topology.pairs:  # update: one product per block
            left = x if a == 0 else both[:, synapses.slices[a]]
            right = r if a == 0 else both
            left.T @ right[:, synapses.slices[b]]

    batch()  # compile kernels, warm caches
    t_batch, t_floor = best_of(repeats, batch), best_of(repeats, floor)
    print(f"{kind:15s} {dtype:8s} batch {t_batch:7.3f} s   BLAS floor {t_floor:7.3f} s   "
          f"ratio {t_batch / t_floor:5.2f}x   ({run.model.topology.n_connections:,} connections)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    data = load_embedded(train_size=20, test_size=20)
    for kind in ("layered", "layer_skipping"):
        bench(kind, args.dtype, args.repeats, data)


if __name__ == "__main__":
    main()
