"""Cost of the per-epoch checkpoint, against the epoch it protects, measured in one run.

For each scenario it trains one epoch limited to ``--batches`` training and test batches
and scales its time to a whole epoch (train + test batches of the full data set), then
times, on the model as trained, what the recorder adds per epoch: taking the checkpoint
(copying every array and generator state) and writing it into a slot of a run file; and
what it adds once per run: the copy of the complete file without its checkpoint. Best of
``--repeats`` for the checkpoint timings.

Then the case of many short epochs (``--short``, default the DEEP XOR task: four
examples, epochs of a few milliseconds), where the recording costs most beside the
training: the same scenario trained twice in this process, without a run file and with
one (traces, ledger, checkpoint after every epoch, the final copy), best of
``--repeats``; it prints the recording's overhead per epoch and as a ratio to the
training time measured in the same run.

    python benchmarks/bench_checkpoint.py [--scenario scenarios/quickstart.yaml ...] [--batches 20]
                                          [--short scenarios/deep-xor.yaml] [--short-epochs 400]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import h5py

from neurosim.config.scenario import load_scenario
from neurosim.observe.recorder import _finish, recording
from neurosim.runfile import checkpoint
from neurosim.training.loop import prepare, train_run

SCENARIOS = ["scenarios/quickstart.yaml", "scenarios/paper-layered-global-rate.yaml"]


def best(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def measure(path: str, batches: int, repeats: int) -> dict:
    scenario = load_scenario(path, {"training.epochs": 1, "trace.enabled": False})
    run = prepare(scenario)
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "r.h5"
        started = time.perf_counter()
        with recording(out, scenario, max_batches=batches) as observers:
            train_run(run, epochs=1, max_batches=batches, observers=observers)
        run_seconds = time.perf_counter() - started
        size_of = scenario.training.batch_size
        train_batches, test_batches = -(-len(run.dataset.train_x) // size_of), -(-len(run.dataset.test_x) // size_of)
        per_batch = run_seconds / (min(batches, train_batches) + min(batches, test_batches))
        epoch = per_batch * (train_batches + test_batches)
        target = Path(scratch) / "c.h5"
        with h5py.File(target, "w") as f:
            lengths = checkpoint.appendable_lengths(f)
            checkpoint.write(f, run.checkpoint(lengths))  # the slots exist from here on, as after epoch 1

            def one():
                checkpoint.write(f, run.checkpoint(lengths))
                f.flush()

            seconds = best(one, repeats)
        size = target.stat().st_size

        def finish():
            copy = Path(scratch) / "p.h5"
            with h5py.File(copy, "w") as f:
                checkpoint.write(f, run.checkpoint({}))
                _finish(f, Path(scratch) / "final.h5")

        finish_seconds = best(finish, repeats)
    return {"scenario": path, "batch_s": per_batch, "epoch_s": epoch, "checkpoint_s": seconds,
            "finish_s": finish_seconds, "checkpoint_MB": size / 1e6}


def measure_short(path: str, epochs: int | None, repeats: int) -> dict:
    """Training without and with a run file, best of ``repeats`` each (the same run, same seed)."""
    scenario = load_scenario(path, {"training.epochs": epochs} if epochs else None)
    epochs = scenario.training.epochs
    prepare(scenario)  # load the data and warm the imports before timing

    def bare():
        train_run(prepare(scenario), epochs=epochs)

    with tempfile.TemporaryDirectory() as scratch:
        def recorded():
            run = prepare(scenario)
            with recording(Path(scratch) / "r.h5", scenario) as observers:
                train_run(run, epochs=epochs, observers=observers)

        train_s, recorded_s = best(bare, repeats), best(recorded, repeats)
    return {"scenario": path, "epochs": epochs, "train_s": train_s, "recorded_s": recorded_s,
            "overhead_ms_per_epoch": (recorded_s - train_s) / epochs * 1e3,
            "ratio": (recorded_s - train_s) / train_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", action="append")
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--short", default="scenarios/deep-xor.yaml",
                        help="scenario of many short epochs ('' to skip)")
    parser.add_argument("--short-epochs", type=int, help="its epochs (default: the scenario's)")
    args = parser.parse_args()
    print(f"{'scenario':44} {'batch s':>8} {'epoch s':>8} {'ckpt s':>7} {'ckpt/epoch':>10} {'MB (2 slots)':>12} "
          f"{'finish s':>8}")
    for path in args.scenario or SCENARIOS:
        r = measure(path, args.batches, args.repeats)
        print(f"{r['scenario']:44} {r['batch_s']:8.3f} {r['epoch_s']:8.1f} {r['checkpoint_s']:7.3f} "
              f"{r['checkpoint_s'] / r['epoch_s']:10.2%} {r['checkpoint_MB']:12.1f} {r['finish_s']:8.3f}")
    if args.short:
        r = measure_short(args.short, args.short_epochs, args.repeats)
        print(f"\nmany short epochs: {r['scenario']}, {r['epochs']} epochs")
        print(f"{'train s':>8} {'recorded s':>10} {'recording ms/epoch':>18} {'recording/training':>18}")
        print(f"{r['train_s']:8.2f} {r['recorded_s']:10.2f} {r['overhead_ms_per_epoch']:18.2f} {r['ratio']:18.2f}")


if __name__ == "__main__":
    main()
