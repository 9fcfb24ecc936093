"""Device-state traces: a waveform dump of neuron states, memory cells, biases and synapses.

A :class:`Tracer` follows a scenario's ``trace`` rules. It is both a controller
:class:`~neurosim.learning.ep.Probe` (it sees every integration step, phase end and
update) and a training :class:`~neurosim.training.loop.Observer` (it knows the epoch and batch).
It joins the controller's probes only for the batches a rule selects, so untraced
batches run exactly as without tracing.

Every recorded bank and cadence gets one group ``/trace/<bank>/<cadence>`` holding the
sampled values (one row per event) and the coordinates of each event (epoch, batch,
phase, step). Rows are buffered in memory and appended to chunked, gzip-compressed
datasets at the end of every epoch, or sooner when the buffer exceeds
``flush_bytes``; the file is flushed after each write, so an interrupted run keeps
every event recorded before the last write. Layout: ``docs/tracing.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import h5py
import numpy as np

from neurosim.learning.ep import Probe
from neurosim.errors import ConfigError
from neurosim.runfile.h5io import append_rows, create_appendable
from neurosim.models.network import Network
from neurosim.config.scenario import Scenario, TraceConfig, parse_selection, selected
from neurosim.models.topology import LayerPair, pair_name
from neurosim.training.loop import BatchRecord, EpochRecord, Observer, TrainingRun

PHASES = ("free", "weakly-clamped", "forward", "backward")
"""Phase codes stored in ``phase`` coordinate datasets: 0 free, 1 weakly-clamped."""

NEURON_BANKS = ("state", "u0", "ubeta")
SYNAPSE_BANKS = ("weights", "delta_w")

BANK_INFO = {
    "state": ("neuron state s", "dimensionless, in [0, 1] (ρ(s) = s)"),
    "u0": ("memory cell U0: the state stored at the end of the free phase", "dimensionless, in [0, 1]"),
    "ubeta": ("memory cell Uβ: the state stored at the end of the weakly-clamped phase", "dimensionless, in [0, 1]"),
    "bias": ("neuron bias b", "state units (same as s)"),
    "weights": ("synapse weight W", "dimensionless (state units per unit activation)"),
    "delta_w": ("EP correction ΔW = ⟨ρ(Uβ_i)ρ(Uβ_j) − ρ(U0_i)ρ(U0_j)⟩/β applied by the update phase, "
                "before the learning rate (W moved by α·ΔW)", "weight units per batch, before α"),
}

CADENCE_INFO = {
    "step": "after every integration step of the free and weakly-clamped phases",
    "phase_end": "at the end of the free phase (state, u0) and of the weakly-clamped phase (state, ubeta)",
    "update": "after each update phase has written every weight and bias",
    "epoch": "after each epoch's test pass; epoch −1 is the initial value, before training",
}

COORDINATES = {
    "step": ("epoch", "batch", "phase", "step"),
    "phase_end": ("epoch", "batch", "phase"),
    "update": ("epoch", "batch"),
    "epoch": ("epoch",),
}

COORDINATE_INFO = {
    "epoch": "epoch of each event (0-based; −1 before training)",
    "batch": "training batch of each event within its epoch (0-based)",
    "phase": "phase of each event: 0 free, 1 weakly-clamped (attribute phase_names)",
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


def plan(config: TraceConfig, batch_size: int) -> list[Rule]:
    """The rules of ``config``, with selections parsed and sample indices checked against the batch size."""
    if not config.enabled:
        return []
    rules = []
    for r, record in enumerate(config.records):
        samples = _samples(record.samples, batch_size, f"trace.records[{r}].samples")
        for bank in record.banks:
            rules.append(Rule(bank, record.cadence, parse_selection(record.epochs, "epochs"),
                              parse_selection(record.batches, "batches"),
                              samples if bank in NEURON_BANKS else None))
    return rules


def _samples(entries, batch_size: int, key: str) -> np.ndarray:
    selection = parse_selection(entries, "samples")
    for i, entry in enumerate(selection or []):
        first = entry if isinstance(entry, int) else (entry.start or 0)
        if first >= batch_size:
            raise ConfigError(None, f"{key}[{i}]", f"sample {first} is outside a batch of "
                              f"training.batch_size = {batch_size}")
    return np.array([i for i in range(batch_size) if selected(selection, i)], dtype=np.intp)


def check(scenario: Scenario) -> None:
    """Raise :class:`ConfigError` if the trace rules do not fit the scenario (sample indices)."""
    plan(scenario.trace, scenario.training.batch_size)


class Tracer(Probe, Observer):
    """Records the device banks a :class:`TraceConfig` selects into an HDF5 group (``/trace``)."""

    def __init__(self, group: h5py.Group, config: TraceConfig, batch_size: int, flush_bytes: int = 64 << 20):
        self.group = group
        self.rules = plan(config, batch_size)
        self.flush_bytes = flush_bytes
        self.buffered = 0
        self.epoch = self.batch = 0
        self.train_batches = 0
        self.active: dict[str, list[Rule]] = {}
        self.run: TrainingRun | None = None

    # -- observer events: where in the training we are --------------------------------

    def on_start(self, run: TrainingRun) -> None:
        self.run = run
        self._write_layout(run.network)
        self._sample_epoch(-1)

    def on_epoch_start(self, epoch: int, train_batches: int, test_batches: int) -> None:
        self.epoch, self.train_batches = epoch, train_batches
        self._arm(0)

    def on_train_batch(self, epoch: int, batch: int, record: BatchRecord) -> None:
        if self.buffered > self.flush_bytes:
            self.write()
        self._arm(batch + 1)

    def on_epoch_end(self, record: EpochRecord) -> None:
        self._sample_epoch(record.epoch)
        self.write()

    def _sample_epoch(self, epoch: int) -> None:
        """Sample the epoch-cadence rules that select ``epoch`` (all of them for −1, before training)."""
        rules = [r for r in self.rules if r.cadence == "epoch" and (epoch < 0 or r.wants(epoch, None))]
        if rules:
            self._sample(rules, self.run.network, (epoch,))

    def _arm(self, batch: int) -> None:
        """Select the rules that record during training batch ``batch`` and join the probes if any do."""
        self.batch = batch
        in_training = batch < self.train_batches
        self.active = {}
        for rule in self.rules:
            if rule.cadence != "epoch" and in_training and rule.wants(self.epoch, batch):
                self.active.setdefault(rule.cadence, []).append(rule)
        probes = self.run.controller.probes
        if self.active and self not in probes:
            probes.append(self)
        elif not self.active and self in probes:
            probes.remove(self)

    # -- probe events: what the devices hold -------------------------------------------

    def on_step(self, phase: str, step: int, network: Network) -> None:
        rules = self.active.get("step")
        if rules:
            self._sample(rules, network, (self.epoch, self.batch, PHASES.index(phase), step))

    def on_phase_end(self, phase: str, network: Network) -> None:
        rules = self.active.get("phase_end")
        if rules:
            code = PHASES.index(phase)
            memory = "u0" if code == 0 else "ubeta"
            rules = [r for r in rules if r.bank in ("state", memory)]
            self._sample(rules, network, (self.epoch, self.batch, code))

    def on_update(self, corrections: dict[LayerPair, np.ndarray], network: Network) -> None:
        rules = self.active.get("update")
        if rules:
            self._sample(rules, network, (self.epoch, self.batch), corrections)

    def _sample(self, rules: list[Rule], network: Network, coords: tuple, corrections=None) -> None:
        neurons, synapses = network.neurons, network.synapses
        for rule in rules:
            if rule.bank in NEURON_BANKS:
                value = _rows(getattr(neurons, "s" if rule.bank == "state" else rule.bank), rule.samples)
            elif rule.bank == "bias":
                value = neurons.bias.copy()
            else:
                source = synapses.weights if rule.bank == "weights" else corrections
                value = {pair: block.copy() for pair, block in source.items()}
            rule.rows.append(value)
            rule.coords.append(coords)
            self.buffered += sum(v.nbytes for v in value.values()) if isinstance(value, dict) else value.nbytes

    # -- the file -----------------------------------------------------------------------

    def write(self) -> None:
        """Append every buffered event to the file and flush it."""
        for rule in self.rules:
            if not rule.rows:
                continue
            g = self.group[rule.key]
            if isinstance(rule.rows[0], dict):
                for pair in rule.rows[0]:
                    append_rows(g, pair_name(pair), np.stack([row[pair] for row in rule.rows]))
            else:
                append_rows(g, "values", np.stack(rule.rows))
            coords = np.array(rule.coords, dtype=np.int64)
            for k, name in enumerate(COORDINATES[rule.cadence]):
                append_rows(g, name, coords[:, k].astype(np.int8 if name == "phase" else np.int32))
            rule.rows, rule.coords = [], []
        self.buffered = 0
        self.group.file.flush()

    def _write_layout(self, network: Network) -> None:
        """Create every group with its attributes (units, axes, index mapping) before any event."""
        topo = network.topology
        neuron_layer = np.repeat(np.arange(1, topo.n_layers), topo.layer_sizes[1:])
        neuron_index = np.concatenate([np.arange(n) for n in topo.layer_sizes[1:]])
        g = self.group
        g.attrs["description"] = "device-state traces; layout in docs/tracing.md"
        g.attrs["phase_names"] = list(PHASES)
        masked = [p for p in topo.pairs if topo.masks[p] is not None]
        for pair in masked:
            ds = g.create_dataset(f"connectivity/{pair_name(pair)}", data=topo.masks[pair].astype(bool),
                                  compression="gzip", shuffle=True)
            ds.attrs["axes"] = f"neuron of layer {pair[0]}, neuron of layer {pair[1]}"
            ds.attrs["description"] = f"True where a synapse joins the two neurons (layer pair {pair_name(pair)})"
        for rule in self.rules:
            what, units = BANK_INFO[rule.bank]
            rg = g.create_group(rule.key)
            rg.attrs.update({"bank": rule.bank, "cadence": rule.cadence, "description": what, "units": units,
                             "when": CADENCE_INFO[rule.cadence],
                             "coordinates": list(COORDINATES[rule.cadence])})
            for name in COORDINATES[rule.cadence]:
                ds = create_appendable(rg, name, (), np.int8 if name == "phase" else np.int32,
                                       description=COORDINATE_INFO[name], axes="event")
                if name == "phase":
                    ds.attrs["phase_names"] = list(PHASES)
            if rule.bank in SYNAPSE_BANKS:
                for pair in topo.pairs:
                    a, b = pair
                    shape = (topo.layer_sizes[a], topo.layer_sizes[b])
                    create_appendable(rg, pair_name(pair), shape, network.synapses.dtype, **{
                        "axes": f"event, neuron of layer {a}, neuron of layer {b}",
                        "layer_pair": pair_name(pair), "pre_layer": a, "post_layer": b,
                        "units": units, "description": f"{what}, layer pair {pair_name(pair)}",
                        "connectivity": f"connectivity/{pair_name(pair)}" if pair in masked else "complete",
                    })
                continue
            columns = topo.n_state
            shape = (columns,) if rule.bank == "bias" else (len(rule.samples), columns)
            ds = create_appendable(rg, "values", shape, network.neurons.dtype, **{
                "axes": "event, neuron" if rule.bank == "bias" else "event, sample, neuron",
                "units": units, "description": what,
                "neuron_layer": neuron_layer, "neuron_index": neuron_index,
                "neuron_mapping": "column k is neuron neuron_index[k] of layer neuron_layer[k] (hidden layers, then output)",
            })
            if rule.bank != "bias":
                ds.attrs["samples"] = rule.samples
                ds.attrs["sample_mapping"] = "row k is example samples[k] of the batch (NaN past a short last batch)"


def _rows(values: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """Copy of the selected batch rows, NaN-padded where the batch is shorter."""
    if len(samples) == 0 or samples[-1] < len(values):
        return values[samples]
    out = np.full((len(samples), values.shape[1]), np.nan, dtype=values.dtype)
    inside = samples < len(values)
    out[inside] = values[samples[inside]]
    return out
