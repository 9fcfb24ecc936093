"""The HDF5 run file: configuration, provenance, metrics, ledger, traces and final device state.

The file is written as ``RUN.h5.partial`` and flushed after every epoch, so an interrupted
run leaves a readable file holding every completed epoch; it is renamed to ``RUN.h5``
only when the run completes. A run that fails (an error, a diverging simulation) removes
its partial file unless asked to keep it. The layout is documented in ``docs/run-file.md``.

:func:`recording` opens a run file and gives the observers that fill it: the action
ledger, the tracer (when the scenario traces) and the :class:`RunRecorder` itself; pass
them to :func:`neurosim.training.loop.train`. They work for every model and datapath.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np

import neurosim
from neurosim.config.scenario import Scenario
from neurosim.observe import ledger
from neurosim.observe.ledger import Ledger
from neurosim.observe.observer import Observer
from neurosim.observe.tracing import Tracer
from neurosim.runfile.h5io import append_rows
from neurosim.runfile.layout import partial_path

EPOCH_METRICS = {
    "train_error": "fraction of training examples misclassified at their free equilibrium, counted online before each batch's update",
    "test_error": "fraction of test examples misclassified at their free equilibrium after the epoch",
    "cost": "mean over training examples of ‖y − y_target‖² at the free equilibrium (online)",
    "test_cost": "mean over test examples of ‖y − y_target‖² at the free equilibrium",
    "seconds": "wall-clock time of the epoch, s",
}


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).parent)
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


class RunRecorder(Observer):
    """Writes one run's HDF5 file (a context manager: the file exists between enter and exit).

    It writes what the run *is* (configuration, provenance, topology, rates), per batch and
    per epoch what it measured, after every epoch ``ledger``'s totals, and on a successful
    exit the final device state of the model.
    """

    def __init__(self, path: str | Path, scenario: Scenario, ledger: Ledger | None = None, *,
                 keep_partial: bool = False):
        self.path = Path(path)
        self.partial = partial_path(self.path)
        self.scenario = scenario
        self.ledger = ledger
        self.keep_partial = keep_partial
        self.file: h5py.File | None = None
        self.run = None
        self._batch_rows = []
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
            if self.run is not None:
                _write_final_state(f, self.run.model)
            f.attrs["status"] = "complete"
            f.attrs["end_time"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            f.close()
            os.replace(self.partial, self.path)
            return
        f.attrs["status"] = f"failed: {exc}"
        f.close()
        if not self.keep_partial:
            self.partial.unlink(missing_ok=True)

    def on_start(self, run) -> None:
        self.run = run
        model, controller = run.model, run.controller
        g = self.file.create_group("topology")
        g.attrs.update({**model.topology_attrs(), "dynamics": self.scenario.dynamics.kind})
        for name, (data, attrs) in model.topology_datasets().items():
            text = data.dtype == object
            ds = g.create_dataset(name, data=data, dtype=h5py.string_dtype() if text else None)
            ds.attrs.update(attrs)
        self.blocks = list(model.blocks.values())
        g = self.file.create_group("rates")
        g.create_dataset("pair", data=np.array([controller.rates[block] for block in model.blocks]))
        if hasattr(controller, "bias_rates"):
            g.create_dataset("bias", data=controller.bias_rates)
        g.attrs["description"] = ("learning rate of each synapse block (layer pair, in /topology/layer_pairs "
                                  "order) and of each neuron's bias")
        self.file.create_group("metrics/epoch")
        self.file.create_group("metrics/batch").attrs["layer_pairs"] = self.blocks
        self.extra_metrics = getattr(controller, "metric_descriptions", {})

    def on_train_batch(self, epoch: int, batch: int, record) -> None:
        self._batch_rows.append(record)

    def on_epoch_end(self, record) -> None:
        if self.ledger is not None:
            ledger.write(self.file, self.ledger)
        g = self.file["metrics/batch"]
        rows = self._batch_rows
        pairs_axis = {"axes": "batch, layer pair", "layer_pairs": self.blocks}
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
        if rows and rows[0].beta is not None:  # a rule with a β
            append_rows(g, "beta", np.array([r.beta for r in rows]),
                        description="signed β of the batch's weakly-clamped phase")
        append_rows(g, "epoch", np.full(len(rows), record.epoch), description="epoch of each batch")
        self._batch_rows = []
        g = self.file["metrics/epoch"]
        for name, description in {**EPOCH_METRICS, **self.extra_metrics}.items():
            value = getattr(record, name)
            append_rows(g, name, np.array([value]), description=description)
        self._epochs_done += 1
        self.file.attrs["epochs_completed"] = self._epochs_done
        self.file.flush()


def _write_final_state(file: h5py.File, model) -> None:
    """The model's final weights and biases (``/final``, one dataset per block)."""
    g = file.create_group("final")
    for name, (data, attrs) in model.final_datasets().items():
        ds = g.create_dataset(name, data=data, compression="gzip", shuffle=True)
        ds.attrs.update(attrs)
    file.flush()


@contextmanager
def recording(path: str | Path, scenario: Scenario, *, keep_partial: bool = False) -> Iterator[list[Observer]]:
    """Open the run file at ``path`` (as ``.partial``) and give the observers that fill it.

    On a normal exit the file gets the final state and is renamed to ``path``; on an
    error it is removed (or kept with ``keep_partial``).
    """
    run_ledger = Ledger(scenario.devices, 8 * np.dtype(scenario.training.dtype).itemsize)
    with RunRecorder(path, scenario, run_ledger, keep_partial=keep_partial) as recorder:
        tracer = [Tracer(recorder.file.create_group("trace"), scenario.trace, scenario.training.batch_size)] \
            if scenario.trace.enabled else []
        yield [run_ledger, *tracer, recorder]
