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

from neurosim.config.base import parse_yaml
from neurosim.errors import NeurosimError
from neurosim.runfile.layout import COORDINATES, PHASES, SYNAPSE_BANKS, partial_path


class RunFileError(NeurosimError):
    """A run file that is missing or not a neurosim run file."""


class SelectionError(RunFileError):
    """A selection (an epoch, batch, phase, sample, neuron, block) the run file does not hold.

    ``what`` names the selection (``epoch``, ``neuron``), ``value`` is what was asked for
    and ``available`` says what the file holds, in words; the message reads
    ``FILE: trace BANK/CADENCE holds no WHAT VALUE (it holds AVAILABLE)``."""

    def __init__(self, path: Path, where: str, what: str, value, available: str):
        self.what, self.value, self.available = what, value, available
        super().__init__(f"{path}: {where} holds no {what} {value} (it holds {available})")


def held(values) -> str:
    """A short description of the distinct values of a coordinate: ``0, 1, 2`` or ``0–99``
    for a run of consecutive integers, ``none`` when empty."""
    distinct = sorted(set(np.asarray(values).tolist()))
    if not distinct:
        return "none"
    if (len(distinct) > 3 and all(isinstance(v, int) for v in distinct)
            and distinct == list(range(distinct[0], distinct[-1] + 1))):
        return f"{distinct[0]}–{distinct[-1]}"
    return ", ".join(str(v) for v in distinct)


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

    path: Path | None = None
    """The run file it was read from (for messages)."""

    @property
    def where(self) -> str:
        return f"trace {self.bank}/{self.cadence}"

    def _refuse(self, what: str, value, available: str) -> SelectionError:
        return SelectionError(self.path, self.where, what, value, available)

    def layer(self, layer: int) -> np.ndarray:
        """Values of the neurons of ``layer`` only (last axis restricted)."""
        if self.neuron_layer is None:
            raise ValueError(f"trace {self.bank}/{self.cadence} is not indexed by neuron")
        if layer not in self.neuron_layer:
            raise self._refuse("layer", layer, f"layers {held(self.neuron_layer)}")
        return self.values[..., self.neuron_layer == layer]

    def events(self, epoch: int | None = None, batch: int | None = None, phase: str | None = None) -> np.ndarray:
        """Indices of the events at ``epoch``, ``batch`` and ``phase`` (None: any), in order.

        A value the trace holds no event at raises :class:`SelectionError` naming it and
        the values held (the batches of that epoch, the phases of that batch)."""
        chosen, within = np.ones(len(self.epoch), dtype=bool), ""
        for what, value, coordinate in (("epoch", epoch, self.epoch), ("batch", batch, self.batch),
                                         ("phase", phase, self.phase)):
            if value is None:
                continue
            shown = repr(value) if what == "phase" else value
            if coordinate is None:
                raise self._refuse(what, shown, f"no {what} coordinate: its cadence is {self.cadence!r}")
            match = chosen & (coordinate == value)
            if not match.any():
                scope = {"epoch": "epochs", "batch": "batches", "phase": "phases"}[what]
                raise self._refuse(what, shown, f"{scope} {held(coordinate[chosen])}{within}")
            chosen, within = match, f"{within} in {what} {shown}"
        return np.flatnonzero(chosen)

    def sample_row(self, sample: int) -> int:
        """The row of the sample axis holding example ``sample`` of the batch."""
        rows = np.flatnonzero(np.asarray(self.samples) == sample) if self.samples is not None else []
        if len(rows) == 0:
            raise self._refuse("sample", sample, f"samples {held([] if self.samples is None else self.samples)}")
        return int(rows[0])

    def column(self, layer: int, index: int) -> int:
        """The neuron column of neuron ``index`` of ``layer``."""
        if self.neuron_layer is None:
            raise ValueError(f"trace {self.bank}/{self.cadence} is not indexed by neuron")
        columns = np.flatnonzero((self.neuron_layer == layer) & (self.neuron_index == index))
        if len(columns) == 0:
            indices = self.neuron_index[self.neuron_layer == layer]
            available = (f"neurons {held(indices)} of layer {layer}" if len(indices)
                         else f"layers {held(self.neuron_layer)}")
            raise self._refuse("neuron", f"{layer}:{index}", available)
        return int(columns[0])


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
                self.layer_pairs = _blocks(f)
                self.epoch = _arrays(f, "metrics/epoch")
                self.batch = _arrays(f, "metrics/batch")
                self.traces = [(bank, cadence) for bank in f.get("trace", {})
                               if bank != "connectivity" for cadence in f["trace"][bank]]
        except (OSError, KeyError) as exc:
            raise RunFileError(f"{path}: not a readable neurosim run file ({exc})") from None
        self.config = parse_yaml(self.config_text)

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
                neuron_index=attrs.get("neuron_index"), connectivity=connectivity, path=self.path,
            )

    def __repr__(self) -> str:
        state = "complete" if self.complete else f"{self.attrs.get('status')}, {self.epochs_completed} epoch(s)"
        return f"Run({str(self.path)!r}, {self.name!r}, {state})"


def open_run(path: str | Path) -> Run:
    """Read the run file at ``path`` (or its ``.partial`` file while it is being written)."""
    return Run(path)


def _blocks(f: h5py.File) -> list[str]:
    """The synapse block names, in the order of every per-block column: the layer pairs of a
    network (``/topology/layer_pairs``); a directed graph's one block ``W`` (its file has no
    layer pairs: the columns' ``layer_pairs`` attribute names it)."""
    if "topology/layer_pairs" in f:
        return [_text(p) for p in f["topology/layer_pairs"][()]]
    if "metrics/batch/rms_correction" in f:
        return [_text(p) for p in f["metrics/batch/rms_correction"].attrs.get("layer_pairs", [])]
    return []


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
