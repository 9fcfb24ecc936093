"""The HDF5 run file: configuration, provenance, metrics, ledger, traces, checkpoints and final device state.

The file is written as ``RUN.h5.partial`` and flushed after every epoch together with a
checkpoint of the run's whole state (:mod:`neurosim.runfile.checkpoint`), so a run that
stops early, whatever stops it, leaves a readable file holding every completed epoch,
from which ``--resume`` continues bit-identically. The file is renamed to ``RUN.h5``
(without the checkpoint, which a finished run no longer needs) only when the run
completes; nothing is ever written to ``RUN.h5`` before that.

Ctrl-C and SIGTERM do not kill the run at an arbitrary point: the first one asks it to
stop at the end of the current batch (a second one stops it at once), the file is cut
back to its last checkpoint and kept with status ``interrupted``. A run that fails with
an error it would repeat when resumed (a diverging simulation, a bad input: a
:class:`~neurosim.errors.NeurosimError`) leaves no output; one that fails otherwise (out
of memory, a full disk, a bug) keeps its partial file, with status ``failed: REASON``,
when it holds a completed epoch, so that it can be resumed once the cause is fixed.
``keep_partial`` keeps the partial file of every failed run. The layout is documented in ``docs/run-file.md``.

:func:`recording` opens a run file and gives the observers that fill it: the action
ledger, the tracer (when the scenario traces) and the :class:`RunRecorder` itself; pass
them to :func:`neurosim.training.loop.train`. They work for every model and datapath.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import h5py
import numpy as np

import neurosim
from neurosim.config.base import parse_yaml
from neurosim.config.scenario import Scenario
from neurosim.errors import NeurosimError, RunInterrupted
from neurosim.observe import ledger
from neurosim.observe.ledger import Ledger
from neurosim.observe.observer import Observer
from neurosim.observe.tracing import Tracer
from neurosim.runfile import checkpoint
from neurosim.runfile.h5io import Appendables
from neurosim.runfile.layout import (COORDINATE_UNITS, DELTA_W_UNITS, DIMENSIONLESS, FRACTION, SECONDS, STEPS,
                                     partial_path)

EPOCH_METRICS = {
    "train_error": ("fraction of training examples misclassified at their free equilibrium, counted online before "
                    "each batch's update", FRACTION),
    "test_error": ("fraction of test examples misclassified at their free equilibrium after the epoch", FRACTION),
    "cost": ("mean over training examples of ‖y − y_target‖² at the free equilibrium (online)", DIMENSIONLESS),
    "test_cost": ("mean over test examples of ‖y − y_target‖² at the free equilibrium", DIMENSIONLESS),
    "seconds": ("wall-clock time of the epoch", SECONDS),
}
"""Every epoch metric of every run: (description, units)."""


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).parent)
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class ResumeError(NeurosimError):
    """A partial run file that cannot be continued by this scenario (another scenario, another
    batch limit, a file that is not a run file or is still being written)."""


class _StopRequested(Exception):
    """Raised at a batch boundary after Ctrl-C or SIGTERM; the recorder turns it into :class:`RunInterrupted`."""


class RunRecorder(Observer):
    """Writes one run's HDF5 file (a context manager: the file exists between enter and exit).

    It writes what the run *is* (configuration, provenance, topology, rates), per batch and
    per epoch what it measured, after every epoch ``ledger``'s totals and a checkpoint, and
    on a successful exit the final device state of the model. ``resume``: continue the
    partial file at ``path`` from its last checkpoint (see :meth:`RunRecorder.restore`);
    ``attrs`` are stored on the file's root (a sweep point's name and parameters).
    """

    def __init__(self, path: str | Path, scenario: Scenario, ledger: Ledger | None = None, *,
                 resume: bool = False, keep_partial: bool = False, max_batches: int | None = None,
                 attrs: dict | None = None):
        self.path = Path(path)
        self.partial = partial_path(self.path)
        self.scenario = scenario
        self.ledger = ledger
        self.resume = resume
        self.keep_partial = keep_partial
        self.max_batches = max_batches
        self.attrs = attrs or {}
        self.file: h5py.File | None = None
        self.run = None
        self.checkpoint: checkpoint.Checkpoint | None = None
        """The checkpoint a resumed run continues from (None: a new run)."""
        self._batch_rows = []
        self._batch_steps: list[list[int]] = []
        self._steps: dict[str, int] = {}
        self._epochs_done = 0
        self._lengths: dict[str, int] = {}
        self._stop: str | None = None
        self._handlers: dict = {}
        self.appendables: Appendables | None = None
        """Every appendable dataset of the file, by path, with its handle and rows (the
        recorder's and the tracer's): appended to, and counted for the checkpoint, without
        looking datasets up or walking the file after every epoch."""
        self._checkpoints: checkpoint.Writer | None = None
        self._ledger_cache: dict = {}

    @property
    def epochs_completed(self) -> int:
        return self._epochs_done

    def __enter__(self) -> RunRecorder:
        if self.resume and self.partial.exists():
            self._reopen()
        else:
            self._create()
        self._catch_signals()
        return self

    def _create(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.file = h5py.File(self.partial, "w")
        except OSError as exc:
            raise NeurosimError(f"{self.partial}: cannot write the run file here ({exc.strerror or exc})") from None
        f = self.file
        config = f.create_dataset("config", data=self.scenario.to_yaml(), dtype=h5py.string_dtype())
        config.attrs["sha256"] = self.scenario.digest()
        config.attrs["description"] = "the resolved scenario (every default filled in), YAML"
        f.attrs.update({
            "neurosim_version": neurosim.__version__,
            "seed": self.scenario.seed,
            "scenario_name": self.scenario.name,
            "start_time": _now(),
            "git_commit": _git_commit(),
            "status": "running",
            "epochs_completed": 0,
            "max_batches": self.max_batches or 0,
            "blas_threads": self.scenario.training.threads,
            **self.attrs,
        })
        f.flush()
        self._open_handles()

    def _open_handles(self) -> None:
        """The registers that keep the file's handles between epochs (after any rewind)."""
        self.appendables = Appendables(self.file, skip=checkpoint.GROUP)
        self._checkpoints = checkpoint.Writer(self.file)
        self._ledger_cache = {}

    def _reopen(self) -> None:
        """Open the partial file for writing, check it belongs to this scenario, cut it back
        to its last checkpoint."""
        try:
            f = h5py.File(self.partial, "r+")
        except OSError as exc:
            raise ResumeError(f"{self.partial}: cannot be resumed: {exc} (is another run still writing it?)") from None
        try:
            self._check_same_run(f)
            self.checkpoint = checkpoint.read(f)
        except Exception:
            f.close()
            raise
        if self.checkpoint is None:  # no epoch completed: nothing to continue, start afresh
            f.close()
            self._create()
            return
        checkpoint.rewind(f, self.checkpoint.lengths)
        self._epochs_done = self.checkpoint.epochs_completed
        f.attrs["status"] = "running"
        f.attrs["epochs_completed"] = self._epochs_done
        f.attrs["resumed_at"] = [*f.attrs.get("resumed_at", []), f"{_now()} from epoch {self._epochs_done}"]
        f.flush()
        self.file = f
        self._open_handles()

    def _check_same_run(self, f: h5py.File) -> None:
        if "config" not in f:
            raise ResumeError(f"{self.partial}: not a neurosim run file (no /config); refusing to resume it")
        found = f["config"].attrs.get("sha256")
        if found != self.scenario.digest():
            stored = parse_yaml(f["config"][()].decode() if isinstance(f["config"][()], bytes)
                                    else f["config"][()])
            differ = _differences(stored, parse_yaml(self.scenario.to_yaml()))
            raise ResumeError(f"{self.partial}: holds a run of another scenario (it differs in "
                              f"{', '.join(differ[:5]) or 'its digest'}); resume it with the same scenario and "
                              "--set options, or start a new run with --overwrite or another --out")
        stored_limit = int(f.attrs.get("max_batches", 0))
        if stored_limit != (self.max_batches or 0):
            raise ResumeError(f"{self.partial}: was run with --max-batches {stored_limit or 'unlimited'}, "
                              f"resumed with {self.max_batches or 'unlimited'}; give the same limit")

    def restore(self, run) -> None:
        """Put ``run`` (just built from the same scenario) in the state of the checkpoint this
        recorder resumes from; nothing for a new run."""
        if self.checkpoint is not None:
            run.restore(self.checkpoint)
            if self.ledger is not None:
                self.ledger.restore(self.checkpoint.arrays)

    # -- stopping ------------------------------------------------------------------------------

    def _catch_signals(self) -> None:
        """Ctrl-C and SIGTERM ask the run to stop at the next batch boundary (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._handlers[sig] = signal.signal(sig, self._on_signal)

    def _release_signals(self) -> None:
        for sig, handler in self._handlers.items():
            signal.signal(sig, handler)
        self._handlers = {}

    def _on_signal(self, signum, frame) -> None:
        if self._stop is not None:
            raise KeyboardInterrupt  # a second signal: stop now
        self._stop = signal.Signals(signum).name
        print(f"\n{self._stop}: stopping at the end of this batch (again to stop at once)", file=sys.stderr)

    def _check_stop(self) -> None:
        if self._stop is not None:
            raise _StopRequested

    def __exit__(self, exc_type, exc, tb) -> None:
        self._release_signals()
        f, self.file = self.file, None
        if exc_type is None:
            if self.run is not None:
                _write_final_state(f, self.run.model)
            f.attrs["status"] = "complete"
            f.attrs["end_time"] = _now()
            _finish(f, self.path)
            return
        interrupted = issubclass(exc_type, _StopRequested | KeyboardInterrupt)
        if self._lengths:
            checkpoint.rewind(f, self._lengths)
        elif self.checkpoint is not None:
            checkpoint.rewind(f, self.checkpoint.lengths)
        f.attrs["status"] = "interrupted" if interrupted else f"failed: {exc_type.__name__}: {exc}"
        f.attrs["end_time"] = _now()
        f.close()
        repeatable = issubclass(exc_type, NeurosimError)  # a divergence, a bad input: resuming would repeat it
        kept = self.keep_partial or (self._epochs_done > 0 and not repeatable)
        if not kept:
            self.partial.unlink(missing_ok=True)
        if interrupted:
            raise RunInterrupted(self._stop or "SIGINT", str(self.partial), self._epochs_done if kept else 0) \
                from None

    def on_start(self, run) -> None:
        self.run = run
        model, controller = run.model, run.controller
        self.blocks = list(model.blocks.values())
        self.step_phases = [phase.name for phase in controller.phases if phase.integrates]
        units = getattr(controller, "metric_units", {})
        self.extra_metrics = {name: (text, units[name])
                              for name, text in getattr(controller, "metric_descriptions", {}).items()}
        if self.checkpoint is not None:  # resumed: what the run is was written when it started
            return
        g = self.file.create_group("topology")
        g.attrs.update({**model.topology_attrs(), "dynamics": self.scenario.dynamics.kind})
        for name, (data, attrs) in model.topology_datasets().items():
            text = data.dtype == object
            ds = g.create_dataset(name, data=data, dtype=h5py.string_dtype() if text else None)
            ds.attrs.update(attrs)
        g = self.file.create_group("rates")
        pair = g.create_dataset("pair", data=np.array([controller.rates[block] for block in model.blocks]))
        pair.attrs.update(description="learning rate α of each synapse block, in /topology/layer_pairs order "
                                      "(a directed graph: its one block W)", units=DIMENSIONLESS, axes="block")
        if hasattr(controller, "bias_rates"):
            bias = g.create_dataset("bias", data=controller.bias_rates)
            bias.attrs.update(description="learning rate of each non-input neuron's bias (the rate of the pair "
                                          "ending at its layer)", units=DIMENSIONLESS, axes="neuron")
        g.attrs["description"] = ("learning rate of each synapse block (layer pair, in /topology/layer_pairs "
                                  "order) and of each neuron's bias")
        self.file.create_group("metrics/epoch")
        self.file.create_group("metrics/batch").attrs["layer_pairs"] = self.blocks

    def on_phase_end(self, phase: str, steps: int, examples: int, model, stored: bool = True) -> None:
        self._steps[phase] = steps

    def on_train_batch(self, epoch: int, batch: int, record) -> None:
        self._batch_rows.append(record)
        self._batch_steps.append([self._steps.get(phase, 0) for phase in self.step_phases])
        self._steps = {}
        self._check_stop()

    def on_test_batch(self, epoch: int, batch: int, examples: int) -> None:
        self._steps = {}
        self._check_stop()

    def on_epoch_end(self, record) -> None:
        if self.ledger is not None:
            ledger.write(self.file, self.ledger, self._ledger_cache)
        append = self.appendables.append
        rows = self._batch_rows
        pairs_axis = {"axes": "batch, layer pair", "layer_pairs": self.blocks}
        append("metrics/batch/rms_correction", np.array([r.update.rms_correction for r in rows]),
               description="root-mean-square of the applied correction α·ΔW over each layer pair's connections",
               units="weight units per batch", **pairs_axis)
        append("metrics/batch/mean_abs_dw", np.array([r.update.mean_abs_dw for r in rows]),
               description="mean |ΔW| over each layer pair's connections (before the learning rate)",
               units=DELTA_W_UNITS, **pairs_axis)
        if rows and rows[0].update.lost_fraction is not None:  # quantised weights or updates only
            append("metrics/batch/lost_fraction", np.array([r.update.lost_fraction for r in rows]),
                   description="fraction of each layer pair's connections with ΔW ≠ 0 whose stored weight "
                               "did not change (the update fell below the weight resolution); NaN: no ΔW ≠ 0",
                   units=FRACTION, **pairs_axis)
        append("metrics/batch/train_error", np.array([r.errors / r.examples for r in rows]),
               description="fraction of the batch misclassified at the free equilibrium", units=FRACTION)
        append("metrics/batch/cost", np.array([r.cost for r in rows]),
               description="mean ‖y − y_target‖² over the batch", units=DIMENSIONLESS)
        if rows and rows[0].beta is not None:  # a rule with a β
            append("metrics/batch/beta", np.array([r.beta for r in rows]),
                   description="signed β of the batch's weakly-clamped phase", units=DIMENSIONLESS)
        append("metrics/batch/epoch", np.full(len(rows), record.epoch), description="epoch of each batch",
               units=COORDINATE_UNITS["epoch"])
        if self.step_phases:
            append("metrics/batch/steps", np.array(self._batch_steps, dtype=np.int32).reshape(len(rows), -1),
                   description="integration steps each phase of the batch took (dynamics.settle: until "
                               "settled; else the fixed t_free, t_clamped)",
                   units=STEPS, axes="batch, phase", phases=self.step_phases)
        self._batch_rows, self._batch_steps = [], []
        for name, (description, units) in {**EPOCH_METRICS, **self.extra_metrics}.items():
            append(f"metrics/epoch/{name}", np.array([getattr(record, name)]), description=description,
                   units=units)
        self._epochs_done += 1
        self._lengths = self.appendables.lengths()
        state = self.run.checkpoint(self._lengths)
        if self.ledger is not None:
            state.arrays |= self.ledger.state()
        self._checkpoints.write(state, {"epochs_completed": self._epochs_done})
        self._check_stop()


def _write_final_state(file: h5py.File, model) -> None:
    """The model's final weights and biases (``/final``, one dataset per block)."""
    g = file.create_group("final")
    for name, (data, attrs) in model.final_datasets().items():
        ds = g.create_dataset(name, data=data, compression="gzip", shuffle=True)
        ds.attrs.update(attrs)
    file.flush()


def _finish(file: h5py.File, path: Path) -> None:
    """Write the complete run to ``path``: every group but the checkpoint, copied into a new
    file (HDF5 does not give back the space of deleted data) that replaces ``path`` at once;
    then remove the partial file."""
    partial = Path(file.filename)
    writing = path.with_name(path.name + ".writing")
    with h5py.File(writing, "w") as out:
        out.attrs.update(dict(file.attrs))
        for name in file:
            if name != checkpoint.GROUP:
                file.copy(file[name], out, name)
    file.close()
    os.replace(writing, path)
    partial.unlink()


def _differences(stored, current, prefix: str = "") -> list[str]:
    """Key paths whose values differ between two resolved scenarios (nested mappings)."""
    if isinstance(stored, dict) and isinstance(current, dict):
        keys = sorted(set(stored) | set(current), key=str)
        return [d for k in keys for d in _differences(stored.get(k), current.get(k), f"{prefix}{k}.")]
    return [] if stored == current else [prefix.rstrip(".")]


class Recording(list):
    """The observers that fill a run file (a list: pass it to the training loop), and
    :meth:`restore`, which puts a freshly built run in the state a resumed file stopped at."""

    def __init__(self, observers: list[Observer], recorder: RunRecorder):
        super().__init__(observers)
        self.recorder = recorder

    @property
    def epochs_completed(self) -> int:
        """Epochs already in the file (0 for a new run)."""
        return self.recorder.epochs_completed

    def restore(self, run) -> None:
        """Restore ``run`` from the checkpoint of a resumed file (nothing for a new one)."""
        self.recorder.restore(run)


@contextmanager
def recording(path: str | Path, scenario: Scenario, *, resume: bool = False, keep_partial: bool = False,
              max_batches: int | None = None, attrs: dict | None = None) -> Iterator[Recording]:
    """Open the run file at ``path`` (as ``.partial``) and give the observers that fill it.

    ``resume``: continue ``path``'s partial file (when there is one) from its last
    checkpoint; call :meth:`Recording.restore` on the run before training it, and train
    the remaining epochs. On a normal exit the file gets the final state and is renamed to
    ``path``; what happens otherwise is described in this module's docstring.
    ``max_batches`` is the batch limit the run is trained with (recorded; a resumed run
    must use the same).
    """
    run_ledger = Ledger(scenario.devices, 8 * np.dtype(scenario.training.dtype).itemsize)
    with RunRecorder(path, scenario, run_ledger, resume=resume, keep_partial=keep_partial, max_batches=max_batches,
                     attrs=attrs) as recorder:
        tracer = [Tracer(recorder.file.require_group("trace"), scenario.trace, scenario.training.batch_size,
                         resumed=recorder.checkpoint is not None, appendables=recorder.appendables)] if scenario.trace.enabled else []
        yield Recording([run_ledger, *tracer, recorder], recorder)
