"""The HDF5 run file: configuration, provenance, metrics, traces and final device state of one run.

The file is written as ``RUN.h5.partial`` and flushed after every epoch, so an interrupted
run leaves a readable file holding every completed epoch; it is renamed to ``RUN.h5``
only when the run completes. A run that fails (an error, a diverging simulation) removes
its partial file unless asked to keep it. The layout is documented in ``docs/run-file.md``.
"""

from __future__ import annotations

import os
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np

import neurosim
from neurosim.observe import ledger
from neurosim.runfile.h5io import append_rows
from neurosim.observe.ledger import Ledger
from neurosim.config.scenario import Scenario
from neurosim.models.topology import pair_name
from neurosim.observe.tracing import Tracer
from neurosim.training.loop import BatchRecord, EpochRecord, Observer, TrainingRun

EPOCH_METRICS = {
    "train_error": "fraction of training examples misclassified at their free equilibrium, counted online before each batch's update",
    "test_error": "fraction of test examples misclassified at their free equilibrium after the epoch",
    "cost": "mean over training examples of ‖y − y_target‖² at the free equilibrium (online)",
    "test_cost": "mean over test examples of ‖y − y_target‖² at the free equilibrium",
    "seconds": "wall-clock time of the epoch, s",
}


def partial_path(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).parent)
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


class RunRecorder(Observer):
    """Writes one run's HDF5 file; use as a context manager around :func:`neurosim.training.loop.train`."""

    def __init__(self, path: str | Path, scenario: Scenario, *, keep_partial: bool = False):
        self.path = Path(path)
        self.partial = partial_path(self.path)
        self.scenario = scenario
        self.keep_partial = keep_partial
        self.file: h5py.File | None = None
        self._batch_rows: list[BatchRecord] = []
        self.tracer: Tracer | None = None
        self._epochs_done = 0

    def __enter__(self) -> RunRecorder:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = h5py.File(self.partial, "w")
        f = self.file
        config = f.create_dataset("config", data=self.scenario.to_yaml(), dtype=h5py.string_dtype())
        config.attrs["sha256"] = self.scenario.digest()
        config.attrs["description"] = "the resolved scenario (every default filled in), YAML"
        f.attrs.update({
            "neurosim_version": neurosim.__version__,
            "seed": self.scenario.seed,
            "scenario_name": self.scenario.name,
            "start_time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "git_commit": _git_commit(),
            "status": "running",
            "epochs_completed": 0,
        })
        f.flush()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        f, self.file = self.file, None
        if exc_type is None:
            f.attrs["status"] = "complete"
            f.attrs["end_time"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            f.close()
            os.replace(self.partial, self.path)
            return
        f.attrs["status"] = f"failed: {exc}"
        f.close()
        if not self.keep_partial:
            self.partial.unlink(missing_ok=True)

    def on_start(self, run: TrainingRun) -> None:
        topo = run.network.topology
        g = self.file.create_group("topology")
        g.attrs["kind"] = topo.kind
        g.attrs["replacements"] = topo.replacements
        g.create_dataset("layer_sizes", data=np.array(topo.layer_sizes))
        g.create_dataset("layer_pairs", data=np.array(run.layer_pairs, dtype=object), dtype=h5py.string_dtype())
        g.create_dataset("connections", data=np.array([topo.connection_count(p) for p in topo.pairs]))
        g["connections"].attrs["description"] = "connections per layer pair, in layer_pairs order"
        g = self.file.create_group("rates")
        g.create_dataset("pair", data=np.array([run.controller.rates[p] for p in topo.pairs]))
        g.create_dataset("bias", data=run.controller.bias_rates)
        g.attrs["description"] = "learning rate of each layer pair (layer_pairs order) and of each neuron's bias"
        self.ledger = Ledger(topo, self.scenario.datapath, self.scenario.devices,
                             8 * run.network.neurons.dtype.itemsize)
        self.ledger.on_start(run)
        self.file.create_group("metrics/epoch")
        self.file.create_group("metrics/batch").attrs["layer_pairs"] = run.layer_pairs
        self.layer_pairs = run.layer_pairs
        if self.scenario.trace.enabled:
            self.tracer = Tracer(self.file.create_group("trace"), self.scenario.trace,
                                 self.scenario.training.batch_size)
            self.tracer.on_start(run)

    def on_epoch_start(self, epoch: int, train_batches: int, test_batches: int) -> None:
        if self.tracer:
            self.tracer.on_epoch_start(epoch, train_batches, test_batches)

    def on_train_batch(self, epoch: int, batch: int, record: BatchRecord) -> None:
        self.ledger.on_train_batch(epoch, batch, record)
        self._batch_rows.append(record)
        if self.tracer:
            self.tracer.on_train_batch(epoch, batch, record)

    def on_test_batch(self, epoch: int, batch: int) -> None:
        self.ledger.on_test_batch(epoch, batch)

    def on_epoch_end(self, record: EpochRecord) -> None:
        self.ledger.on_epoch_end(record)
        ledger.write(self.file, self.ledger)
        if self.tracer:
            self.tracer.on_epoch_end(record)
        g = self.file["metrics/batch"]
        rows = self._batch_rows
        pairs_axis = {"axes": "batch, layer pair", "layer_pairs": self.layer_pairs}
        append_rows(g, "rms_correction", np.array([r.update.rms_correction for r in rows]),
                description="root-mean-square of the applied correction α·ΔW over each layer pair's connections",
                units="weight units per batch", **pairs_axis)
        append_rows(g, "mean_abs_dw", np.array([r.update.mean_abs_dw for r in rows]),
                description="mean |ΔW| over each layer pair's connections (before the learning rate)", **pairs_axis)
        if rows and rows[0].update.lost_fraction is not None:  # quantised weights or updates only
            append_rows(g, "lost_fraction", np.array([r.update.lost_fraction for r in rows]),
                        description="fraction of each layer pair's connections with ΔW ≠ 0 whose stored weight "
                                    "did not change (the update fell below the weight resolution); NaN: no ΔW ≠ 0",
                        **pairs_axis)
        append_rows(g, "train_error", np.array([r.errors / r.examples for r in rows]),
                description="fraction of the batch misclassified at the free equilibrium")
        append_rows(g, "cost", np.array([r.cost for r in rows]), description="mean ‖y − y_target‖² over the batch")
        append_rows(g, "beta", np.array([r.beta for r in rows]), description="signed β of the batch's weakly-clamped phase")
        append_rows(g, "epoch", np.full(len(rows), record.epoch), description="epoch of each batch")
        self._batch_rows = []
        g = self.file["metrics/epoch"]
        for name, description in EPOCH_METRICS.items():
            append_rows(g, name, np.array([getattr(record, name)]), description=description)
        self._epochs_done += 1
        self.file.attrs["epochs_completed"] = self._epochs_done
        self.file.flush()

    def write_final_state(self, run: TrainingRun) -> None:
        """Final weights (one dataset per layer pair) and biases of every neuron."""
        g = self.file.create_group("final")
        w = g.create_group("weights")
        for pair, weights in run.network.synapses.weights.items():
            ds = w.create_dataset(pair_name(pair), data=weights, compression="gzip", shuffle=True)
            ds.attrs["axes"] = f"neuron of layer {pair[0]}, neuron of layer {pair[1]}"
        ds = g.create_dataset("biases", data=run.network.neurons.bias)
        ds.attrs["axes"] = "non-input neuron (hidden layers, then output)"
        ds.attrs["layer_sizes"] = run.network.topology.layer_sizes[1:]
        self.file.flush()
