"""Cost of the default trace policy: a traced run against the same run untraced, same process.

Both runs write a run file through :func:`~neurosim.observe.recorder.recording`; they differ
only in ``trace.enabled``. The default policy records the phase-end states and memory
cells of each epoch's first batch and every weight after each epoch. Runs alternate
(untraced, traced, ...) and the best of ``--repeats`` is kept for each. Because a shared
machine makes whole-run times noisy, the time spent inside the tracer's own callbacks
(sampling, compressing, writing) is also measured and quoted as a share of the traced run.

    python benchmarks/bench_tracing.py [--scenario scenarios/quickstart.yaml] [--epochs 2]
                                       [--max-batches N] [--repeats 3]

The default trace policy costs a fixed amount per epoch (mostly compressing the weights),
so its share grows as epochs shrink: ``--max-batches`` shows that case.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import neurosim.observe.recorder
from neurosim.data.datasets import load_dataset
from neurosim.observe.recorder import recording
from neurosim.config.scenario import load_scenario
from neurosim.observe.tracing import Tracer
from neurosim.training.loop import train

EVENTS = ("on_start", "on_epoch_start", "wants_steps", "on_train_batch", "on_test_batch", "on_epoch_end", "on_step",
          "on_phase_end", "on_update")


class TimedTracer(Tracer):
    """The tracer, with the wall-clock time of every callback summed in ``TimedTracer.seconds``."""

    seconds = 0.0


def _timed(name: str):
    method = getattr(Tracer, name)

    def wrapper(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return method(self, *args, **kwargs)
        finally:
            TimedTracer.seconds += time.perf_counter() - start
    return wrapper


for _event in EVENTS:
    setattr(TimedTracer, _event, _timed(_event))


def timed_run(scenario, dataset, max_batches: int | None, out: Path) -> float:
    start = time.perf_counter()
    with recording(out, scenario) as observers:  # the final state is written on exit
        train(scenario, dataset, max_batches=max_batches, observers=observers)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(Path(__file__).parent.parent / "scenarios" / "quickstart.yaml"))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-batches", type=int, default=None, help="training and test batches per epoch [all]")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    traced = load_scenario(args.scenario, {"training.epochs": args.epochs})
    untraced = load_scenario(args.scenario, {"training.epochs": args.epochs, "trace.enabled": False})
    dataset = load_dataset(traced.data)
    times = {"untraced": [], "traced": []}
    inside = []
    neurosim.observe.recorder.Tracer = TimedTracer
    with tempfile.TemporaryDirectory() as tmp:
        timed_run(untraced, dataset, 1, Path(tmp) / "warm.h5")  # compile kernels
        for _ in range(args.repeats):
            for name, scenario in (("untraced", untraced), ("traced", traced)):
                TimedTracer.seconds = 0.0
                times[name].append(timed_run(scenario, dataset, args.max_batches, Path(tmp) / f"{name}.h5"))
            inside.append(TimedTracer.seconds / times["traced"][-1])
        size = (Path(tmp) / "traced.h5").stat().st_size - (Path(tmp) / "untraced.h5").stat().st_size
    best = {name: min(t) for name, t in times.items()}
    batches = args.max_batches or "all"
    print(f"{traced.name}: {args.epochs} epoch(s) x {batches} training batches, best of {args.repeats}")
    print(f"untraced {best['untraced']:7.3f} s   default tracing {best['traced']:7.3f} s   "
          f"overhead {100 * (best['traced'] / best['untraced'] - 1):+5.1f} %   trace data {size / 1e6:.2f} MB")
    print(f"time inside the tracer: {100 * min(inside):.1f} % of the traced run (best), "
          f"{100 * max(inside):.1f} % (worst)")


if __name__ == "__main__":
    main()
