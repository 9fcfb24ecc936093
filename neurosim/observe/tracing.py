"""Device-state traces: a waveform dump of neuron states, memory cells, biases and synapses.

A :class:`Tracer` is an :class:`~neurosim.observe.observer.Observer` that follows a
scenario's ``trace`` rules on any model and datapath. It asks for integration steps only
in the batches a step rule selects, so untraced batches run exactly as without tracing.
Memory cells are the ones the controller declares for its phases: EP's ``u0`` (end of
the free phase) and ``ubeta`` (end of the weakly-clamped phase), backprop's
``activation`` (end of the forward pass) and ``error`` (δ, end of the backward pass);
the bank ``memory`` in a rule means every cell the datapath has.

Every recorded bank and cadence gets one group ``/trace/<bank>/<cadence>`` holding the
sampled values (one row per event) and the coordinates of each event (epoch, batch,
phase, step). Rows are buffered in memory and appended to chunked, gzip-compressed
datasets at the end of every epoch, or sooner when the buffer exceeds
``flush_bytes``; the file is flushed after each write, so an interrupted run keeps
every event recorded before the last write. The datasets are reached through the file's
:class:`~neurosim.runfile.h5io.Appendables` (the recorder's, which counts their rows for
the checkpoint), by their open handles. Layout: ``docs/tracing.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import h5py
import numpy as np

from neurosim.config.trace import TraceConfig, parse_selection, selected
from neurosim.errors import ConfigError
from neurosim.observe.observer import Observer
from neurosim.runfile.h5io import Appendables
from neurosim.runfile.layout import (COORDINATE_UNITS, COORDINATES, DELTA_W_UNITS, NEURON_BANKS, PHASES,
                                     STATE_SCALE_UNITS, STATE_UNITS, SYNAPSE_BANKS, WEIGHT_UNITS)

MEMORY = "memory"
"""The bank name that stands for every memory cell the datapath declares."""

BANK_INFO = {
    "state": ("neuron state s (ρ(s) = s)", STATE_UNITS),
    "u0": ("memory cell U0: the state stored at the end of the free phase", STATE_UNITS),
    "ubeta": ("memory cell Uβ: the state stored at the end of the weakly-clamped phase", STATE_UNITS),
    "ubeta_neg": ("memory cell U−β: the state stored at the end of the symmetric estimator's −β phase",
                  STATE_UNITS),
    "activation": ("memory cell of backprop's forward pass: the activation ρ(u) (input columns excluded)",
                   STATE_UNITS),
    "error": ("memory cell of backprop's backward pass: the error δ = ρ'(u)·∂C/∂ρ(u)", STATE_SCALE_UNITS),
    "bias": ("neuron bias b", STATE_SCALE_UNITS),
    "weights": ("synapse weight W", WEIGHT_UNITS),
    "delta_w": ("the correction ΔW the update phase applied (EP: ⟨ρ(Uβ_i)ρ(Uβ_j) − ρ(U0_i)ρ(U0_j)⟩/β), "
                "before the learning rate (W moved by α·ΔW)", DELTA_W_UNITS),
}

CADENCE_INFO = {
    "step": "after every integration step of the phases that integrate (EP's free and weakly-clamped phases)",
    "phase_end": "at the end of every phase but the update: the state, and the memory cell the phase writes",
    "update": "after each update phase has written every weight and bias",
    "epoch": "after each epoch's test pass; epoch −1 is the initial value, before training",
}

COORDINATE_INFO = {
    "epoch": "epoch of each event (0-based; −1 before training)",
    "batch": "training batch of each event within its epoch (0-based)",
    "phase": "phase of each event, an index into the attribute phase_names",
    "step": "integration step within the phase (0-based), the state sampled after that step",
}


@dataclass
class Rule:
    """One (bank, cadence) to record, with its selections resolved."""

    bank: str
    cadence: str
    epochs: list | None
    batches: list | None
    samples: np.ndarray | None
    """Batch rows recorded for neuron banks (None for the other banks)."""
    rows: list = field(default_factory=list)
    coords: list = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.bank}/{self.cadence}"

    def wants(self, epoch: int, batch: int | None) -> bool:
        return selected(self.epochs, epoch) and (batch is None or selected(self.batches, batch))


def plan(config: TraceConfig, batch_size: int, cells: tuple[str, ...] = ("u0", "ubeta"),
         has_bias: bool = True) -> list[Rule]:
    """The rules of ``config`` for a datapath whose memory cells are ``cells``, with
    selections parsed, ``memory`` expanded to those cells and every bank checked against
    the model (a bias bank, a memory cell) and the batch size (sample indices)."""
    if not config.enabled:
        return []
    rules = []
    for r, record in enumerate(config.records):
        samples = _samples(record.samples, batch_size, f"trace.records[{r}].samples")
        for b, bank in enumerate(record.banks):
            key = f"trace.records[{r}].banks[{b}]"
            if bank in NEURON_BANKS and bank != "state" and bank not in cells:
                raise ConfigError(None, key, f"this datapath has no memory cell {bank!r} (its cells: "
                                  f"{', '.join(cells)}; 'memory' names them all)")
            if bank == "bias" and not has_bias:
                raise ConfigError(None, key, "a directed graph keeps its biases in the bias row of its "
                                  "weights (trace 'weights')")
            for name in (cells if bank == MEMORY else (bank,)):
                if any(rule.bank == name and rule.cadence == record.cadence for rule in rules):
                    raise ConfigError(None, key, f"memory cell {name!r} is recorded twice at cadence "
                                      f"{record.cadence!r} ('memory' includes it)")
                rules.append(Rule(name, record.cadence, parse_selection(record.epochs, "epochs"),
                                  parse_selection(record.batches, "batches"),
                                  samples if name in NEURON_BANKS else None))
    return rules


def _samples(entries, batch_size: int, key: str) -> np.ndarray:
    selection = parse_selection(entries, "samples")
    for i, entry in enumerate(selection or []):
        first = entry if isinstance(entry, int) else (entry.start or 0)
        if first >= batch_size:
            raise ConfigError(None, f"{key}[{i}]", f"sample {first} is outside a batch of "
                              f"training.batch_size = {batch_size}")
    return np.array([i for i in range(batch_size) if selected(selection, i)], dtype=np.intp)


def check(config: TraceConfig, batch_size: int, controller) -> None:
    """Raise :class:`ConfigError` if the trace rules do not fit a controller's model and datapath."""
    plan(config, batch_size, *_model_facts(controller))


def _model_facts(controller) -> tuple[tuple[str, ...], bool]:
    cells = tuple(phase.cell for phase in controller.phases if phase.cell)
    return cells, controller.model.neurons.bias is not None


class Tracer(Observer):
    """Records the device banks a :class:`TraceConfig` selects into an HDF5 group (``/trace``)."""

    def __init__(self, group: h5py.Group, config: TraceConfig, batch_size: int, flush_bytes: int = 64 << 20,
                 resumed: bool = False, appendables: Appendables | None = None):
        self.group = group
        self.file = group.file
        self.prefix = group.name.lstrip("/")
        self.appendables = appendables
        """Where the tracer's datasets are registered (default: its own, made when the run starts)."""
        self.resumed = resumed
        """The group already holds the layout and the events of a resumed run's completed epochs."""
        self.config = config
        self.batch_size = batch_size
        self.rules: list[Rule] = []
        self.flush_bytes = flush_bytes
        self.buffered = 0
        self.epoch = self.batch = 0
        self.train_batches = 0
        self.active: dict[str, list[Rule]] = {}
        self.cell_of: dict[str, str | None] = {}
        self.model = None

    # -- where in the training we are -----------------------------------------------------

    def on_start(self, run) -> None:
        controller = run.controller
        self.model = run.model
        self.cell_of = {phase.name: phase.cell for phase in controller.phases}
        self.rules = plan(self.config, self.batch_size, *_model_facts(controller))
        if self.appendables is None:
            self.appendables = Appendables(self.file, skip="checkpoint")
        if not self.resumed:
            self._write_layout(self.model)
            self._sample_epoch(-1)

    def on_epoch_start(self, epoch: int, train_batches: int, test_batches: int) -> None:
        self.epoch, self.train_batches = epoch, train_batches
        self._arm(0)

    def on_train_batch(self, epoch: int, batch: int, record) -> None:
        if self.buffered > self.flush_bytes:
            self.write()
        self._arm(batch + 1)

    def on_epoch_end(self, record) -> None:
        self._sample_epoch(record.epoch)
        self.write()

    def wants_steps(self, epoch: int, batch: int) -> bool:
        return "step" in self.active

    def _sample_epoch(self, epoch: int) -> None:
        """Sample the epoch-cadence rules that select ``epoch`` (all of them for −1, before training)."""
        rules = [r for r in self.rules if r.cadence == "epoch" and (epoch < 0 or r.wants(epoch, None))]
        if rules:
            self._sample(rules, self.model, (epoch,))

    def _arm(self, batch: int) -> None:
        """Select the rules that record during training batch ``batch`` (none in the test pass)."""
        self.batch = batch
        in_training = batch < self.train_batches
        self.active = {}
        for rule in self.rules:
            if rule.cadence != "epoch" and in_training and rule.wants(self.epoch, batch):
                self.active.setdefault(rule.cadence, []).append(rule)

    # -- what the devices hold ------------------------------------------------------------

    def on_step(self, phase: str, step: int, model) -> None:
        rules = self.active.get("step")
        if rules:
            self._sample(rules, model, (self.epoch, self.batch, PHASES.index(phase), step))

    def on_phase_end(self, phase: str, steps: int, examples: int, model, stored: bool = True) -> None:
        rules = self.active.get("phase_end")
        if rules:
            cell = self.cell_of.get(phase) if stored else None
            rules = [r for r in rules if r.bank in ("state", cell)]
            if rules:
                self._sample(rules, model, (self.epoch, self.batch, PHASES.index(phase)))

    def on_update(self, corrections: dict, examples: int, model) -> None:
        rules = self.active.get("update")
        if rules:
            self._sample(rules, model, (self.epoch, self.batch), corrections)

    def _sample(self, rules: list[Rule], model, coords: tuple, corrections=None) -> None:
        neurons, synapses = model.neurons, model.synapses
        for rule in rules:
            if rule.bank in NEURON_BANKS:
                values = neurons.s if rule.bank == "state" else neurons.cells.get(rule.bank)
                if values is None:  # a cell not written yet (an update before any phase): skip
                    continue
                value = _rows(values, rule.samples)
            elif rule.bank == "bias":
                value = neurons.bias.copy()
            else:
                source = _weights(synapses) if rule.bank == "weights" else corrections
                value = {block: source[block].copy() for block in model.blocks}
            rule.rows.append(value)
            rule.coords.append(coords)
            self.buffered += sum(v.nbytes for v in value.values()) if isinstance(value, dict) else value.nbytes

    # -- the file -------------------------------------------------------------------------

    def write(self) -> None:
        """Append every buffered event to the file and flush it."""
        blocks = self.model.blocks
        append = self.appendables.append
        for rule in self.rules:
            if not rule.rows:
                continue
            path = f"{self.prefix}/{rule.key}"
            if isinstance(rule.rows[0], dict):
                for block, name in blocks.items():
                    append(f"{path}/{name}", np.stack([row[block] for row in rule.rows]))
            else:
                append(f"{path}/values", np.stack(rule.rows))
            coords = np.array(rule.coords, dtype=np.int64)
            for k, name in enumerate(COORDINATES[rule.cadence]):
                append(f"{path}/{name}", coords[:, k].astype(np.int8 if name == "phase" else np.int32))
            rule.rows, rule.coords = [], []
        self.buffered = 0
        self.file.flush()

    def _write_layout(self, model) -> None:
        """Create every group with its attributes (units, axes, index mapping) before any event."""
        neuron_layer = model.neuron_layer()
        neuron_index = np.concatenate([np.arange(np.sum(neuron_layer == layer)) for layer in np.unique(neuron_layer)])
        g = self.group
        g.attrs["description"] = "device-state traces; layout in docs/tracing.md"
        g.attrs["phase_names"] = list(PHASES)
        weights = _weights(model.synapses)
        masked = {}
        for block, name in model.blocks.items():
            mask = model.block_mask(block)
            if mask is None:
                continue
            masked[block] = f"connectivity/{name}"
            ds = g.create_dataset(masked[block], data=mask.astype(bool), compression="gzip", shuffle=True)
            ds.attrs["axes"] = ", ".join(model.block_axes(block))
            ds.attrs["description"] = f"True where a synapse exists (block {name}; at the start of the run)"
        for rule in self.rules:
            what, units = BANK_INFO[rule.bank]
            rg = g.create_group(rule.key)
            rg.attrs.update({"bank": rule.bank, "cadence": rule.cadence, "description": what, "units": units,
                             "when": CADENCE_INFO[rule.cadence],
                             "coordinates": list(COORDINATES[rule.cadence])})
            for name in COORDINATES[rule.cadence]:
                ds = self.appendables.create(rg, name, (), np.int8 if name == "phase" else np.int32,
                                       description=COORDINATE_INFO[name], units=COORDINATE_UNITS[name], axes="event")
                if name == "phase":
                    ds.attrs["phase_names"] = list(PHASES)
            if rule.bank in SYNAPSE_BANKS:
                for block, name in model.blocks.items():
                    pre, post = model.block_axes(block)
                    self.appendables.create(rg, name, weights[block].shape, model.synapses.dtype, **{
                        "axes": f"event, {pre}, {post}", **model.block_attrs(block),
                        "units": units, "description": f"{what}, block {name}",
                        "connectivity": masked.get(block, "complete"),
                    })
                continue
            columns = model.neurons.size
            shape = (columns,) if rule.bank == "bias" else (len(rule.samples), columns)
            ds = self.appendables.create(rg, "values", shape, model.neurons.dtype, **{
                "axes": "event, neuron" if rule.bank == "bias" else "event, sample, neuron",
                "units": units, "description": what,
                "neuron_layer": neuron_layer, "neuron_index": neuron_index,
                "neuron_mapping": "column k is neuron neuron_index[k] of layer (group) neuron_layer[k]",
            })
            if rule.bank != "bias":
                ds.attrs["samples"] = rule.samples
                ds.attrs["sample_mapping"] = "row k is example samples[k] of the batch (NaN past a short last batch)"


def _weights(synapses) -> dict:
    """A synapse bank's stored weights by block: per layer pair, or the one block ``W``."""
    return synapses.weights if isinstance(synapses.weights, dict) else {"W": synapses.weights}


def _rows(values: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """Copy of the selected batch rows, NaN-padded where the batch is shorter."""
    if len(samples) == 0 or samples[-1] < len(values):
        return values[samples]
    out = np.full((len(samples), values.shape[1]), np.nan, dtype=values.dtype)
    inside = samples < len(values)
    out[inside] = values[samples[inside]]
    return out
