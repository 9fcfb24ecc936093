"""Reading run files back: named arrays for metrics, configuration, topology and traces.

``open_run("runs/x.h5")`` returns a :class:`Run`; nobody needs to know HDF5 paths::

    run = neurosim.open_run("runs/quickstart.h5")
    run.epoch["test_error"]                  # (epochs,)
    run.batch["rms_correction"]              # (batches, layer pairs), columns run.layer_pairs
    run.lost_fraction                        # (batches, layer pairs); None with ideal weights
    t = run.trace("state", "step")           # a Trace: values + coordinates
    t.values[t.phase == "free"]              # (events, samples, neurons)
    t.layer(2)                               # the columns of layer 2's neurons
    run.trace("weights", "epoch").values["0-1"]   # (events, 784, n_1)

A run that is still going or was interrupted is read from ``RUN.h5.partial`` (given
either name); :attr:`Run.complete` says which. Layout: ``docs/run-file.md`` and
``docs/tracing.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import yaml

from neurosim.errors import NeurosimError
from neurosim.runfile.layout import COORDINATES, PHASES, SYNAPSE_BANKS, partial_path


class RunFileError(NeurosimError):
    """A run file that is missing or not a neurosim run file."""


@dataclass
class Trace:
    """One traced bank at one cadence: sampled values and the coordinates of every event."""

    bank: str
    cadence: str
    values: np.ndarray | dict[str, np.ndarray]
    """Neuron banks: (events, samples, neurons); bias: (events, neurons); weights and
    delta_w: a mapping from synapse block name (a layer pair, ``0-1``; ``W`` for a directed
    graph) to (events, n_a, n_b)."""
    epoch: np.ndarray
    batch: np.ndarray | None
    phase: np.ndarray | None
    """Phase name of each event (``free`` or ``weakly-clamped``), or None."""
    step: np.ndarray | None
    units: str
    description: str
    samples: np.ndarray | None
    """Batch row of each sample axis entry (neuron banks)."""
    neuron_layer: np.ndarray | None
    """Layer of each neuron column (neuron banks and bias)."""
    neuron_index: np.ndarray | None
    """Index within its layer of each neuron column."""
    connectivity: dict[str, np.ndarray | None] | None
    """Synapse banks: True where a connection exists, per layer pair (None: complete block)."""

    def layer(self, layer: int) -> np.ndarray:
        """Values of the neurons of ``layer`` only (last axis restricted)."""
        if self.neuron_layer is None:
            raise ValueError(f"trace {self.bank}/{self.cadence} is not indexed by neuron")
        return self.values[..., self.neuron_layer == layer]


class Run:
    """A run file read into memory (traces are read on demand)."""

    def __init__(self, path: str | Path):
        path = Path(path)
        if not path.exists() and partial_path(path).exists():
            path = partial_path(path)
        if not path.exists():
            raise RunFileError(f"{path}: no such run file")
        self.path = path
        try:
            with self._open() as f:
                self.attrs = {k: _plain(v) for k, v in f.attrs.items()}
                self.config_text = f["config"][()].decode()
                self.layer_sizes = f["topology/layer_sizes"][()].tolist() if "topology" in f else []
                self.layer_pairs = [_text(p) for p in f["topology/layer_pairs"][()]] if "topology" in f else []
                self.epoch = _arrays(f, "metrics/epoch")
                self.batch = _arrays(f, "metrics/batch")
                self.traces = [(bank, cadence) for bank in f.get("trace", {})
                               if bank != "connectivity" for cadence in f["trace"][bank]]
        except (OSError, KeyError) as exc:
            raise RunFileError(f"{path}: not a readable neurosim run file ({exc})") from None
        self.config = yaml.safe_load(self.config_text)

    def _open(self) -> h5py.File:
        return h5py.File(self.path, "r", locking=False)

    @property
    def name(self) -> str:
        """The scenario's name (legends use it)."""
        return self.config.get("name", self.path.stem)

    @property
    def lost_fraction(self) -> np.ndarray | None:
        """Per training batch and layer pair, the fraction of connections with ΔW ≠ 0 whose
        stored weight did not change (NaN: no ΔW ≠ 0 in that batch); None when the run's
        weights and weight updates were ideal (the file holds no such dataset)."""
        return self.batch.get("lost_fraction")

    @property
    def complete(self) -> bool:
        return self.attrs.get("status") == "complete"

    @property
    def epochs_completed(self) -> int:
        return int(self.attrs.get("epochs_completed", 0))

    def trace(self, bank: str, cadence: str) -> Trace:
        """The trace of ``bank`` at ``cadence``; :attr:`traces` lists those present."""
        if (bank, cadence) not in self.traces:
            have = ", ".join(f"{b}/{c}" for b, c in self.traces) or "none"
            raise RunFileError(f"{self.path}: no trace {bank}/{cadence} (traces present: {have})")
        with self._open() as f:
            g = f[f"trace/{bank}/{cadence}"]
            coords = {name: g[name][()] for name in COORDINATES[cadence]}
            n = min(len(c) for c in coords.values())  # a write cut short leaves coordinates ahead
            if bank in SYNAPSE_BANKS:
                names = [name for name in g if name not in COORDINATES[cadence]]
                blocks = [p for p in self.layer_pairs if p in names] + [b for b in names if b not in self.layer_pairs]
                values = {block: g[block][:n] for block in blocks}
                n = min([n, *(len(v) for v in values.values())])
                values = {block: v[:n] for block, v in values.items()}
                connectivity = {block: (f[f"trace/{g[block].attrs['connectivity']}"][()]
                                        if g[block].attrs["connectivity"] != "complete" else None)
                                for block in blocks}
                attrs = dict(g[blocks[0]].attrs)
            else:
                values = g["values"][:n]
                n = len(values)
                connectivity = None
                attrs = dict(g["values"].attrs)
            phase = coords.get("phase")
            return Trace(
                bank=bank, cadence=cadence, values=values,
                epoch=coords["epoch"][:n],
                batch=coords["batch"][:n] if "batch" in coords else None,
                phase=np.array(PHASES)[phase[:n]] if phase is not None else None,
                step=coords["step"][:n] if "step" in coords else None,
                units=_text(g.attrs["units"]), description=_text(g.attrs["description"]),
                samples=attrs.get("samples"), neuron_layer=attrs.get("neuron_layer"),
                neuron_index=attrs.get("neuron_index"), connectivity=connectivity,
            )

    def __repr__(self) -> str:
        state = "complete" if self.complete else f"{self.attrs.get('status')}, {self.epochs_completed} epoch(s)"
        return f"Run({str(self.path)!r}, {self.name!r}, {state})"


def open_run(path: str | Path) -> Run:
    """Read the run file at ``path`` (or its ``.partial`` file while it is being written)."""
    return Run(path)


def _arrays(f: h5py.File, group: str) -> dict[str, np.ndarray]:
    return {name: ds[()] for name, ds in f[group].items()} if group in f else {}


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _plain(value):
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    return value
