"""The action ledger: every hardware action the datapath performs, counted per phase.

A :class:`Ledger` is an :class:`~neurosim.observe.observer.Observer` of any run. From what
actually ran — the phases the controller reported, their integration steps and the
examples they covered — it counts, per phase × device kind × action, the actions of the
hardware the simulation models (see :mod:`neurosim.devices.energy` for the list). The
actions per event come from the model and datapath (:func:`rates_of`); test-set
evaluation is counted apart, as the phase ``inference``.

Conventions (hardware actions, not simulator shortcuts; also in ``docs/energy.md``):

* **Every step drives every synapse.** The simulator computes the clamped inputs'
  contribution once per phase, but the hardware's input drivers and synapses work at every
  integration step: per step and example, ``input.dac`` n₀, ``synapse.mac_forward`` C (every
  connection, lower layer → higher), ``synapse.mac_backward`` C_rec (connections between
  non-input neurons; inputs receive nothing), one ``synapse.weight_read`` per
  multiply-accumulate; per non-input neuron ``integrate``, ``adc``, ``rho``, ``dac`` and
  ``bias_read``; per output neuron ``nudge`` in the weakly-clamped phase.
* **Memory cells:** U0 is written at the end of the free phase and read to start the
  weakly-clamped phase, which ends writing Uβ; the update reads both (one read per neuron
  and example) and drives each onto the synapses (two DACs per neuron and example).
* **Updates** accumulate over the batch (EP: two products per connection and example;
  BP: one) and write once per batch: one ``weight_read`` + ``weight_write`` per connection,
  one ``bias_read`` + ``bias_write`` per neuron.
* **Backprop** (Figure 7) has no integration: the forward phase computes each layer's sum
  once per example (``mac_forward`` C, ``adc``/``rho``/``write_activation`` per neuron, the
  activation DAC of every neuron with a connection to a higher layer); the backward phase
  reads the output activations, evaluates ρ′ and writes δ per neuron, drives δ of every
  neuron with a connection from a lower non-input layer, and multiplies back over C_rec.
* **Directed graphs** (DEEP, asymmetric EP): each directed synapse carries current one
  way, so a step has one multiply-accumulate per *live* connection (``mac_forward`` from a
  lower- to a higher-numbered neuron, ``mac_backward`` otherwise) and ``bias_read`` per live
  bias; DEEP's outgoing term −s_j Σ_i W_ji is the current the synapse j → i draws from j,
  not a second action. DEEP writes no Uβ: at every weakly-clamped step each non-input
  neuron drives its change onto its incoming synapses and every live connection and bias
  accumulates its product (counted in ``update``, where they belong by purpose). The
  rates follow the live connections, so removed ones cost nothing from then on. The
  evaluation after each epoch relaxes from rest and stores nothing.
* **Not counted:** loading a persistent particle into the integrators, presenting the
  target to the output neurons, the controller's sequencing; for directed graphs the
  sparsity mechanism's comparisons and draws and the ℓ1 sign.

Bits per action are the bit depth of the action's quantisation point
(:data:`neurosim.devices.energy.ACTION_POINT`); an ideal point counts as the float width.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import h5py
import numpy as np

from neurosim.devices.energy import ACTION_POINT, ACTIONS
from neurosim.devices.spec import DeviceSpec
from neurosim.runfile.h5io import write_all
from neurosim.runfile.layout import INFERENCE, NEGATIVE
from neurosim.models.directed import DirectedNetwork
from neurosim.models.topology import Topology
from neurosim.observe.observer import Observer

_INDEX = {action: i for i, action in enumerate(ACTIONS)}


def action_vector(**counts: int) -> np.ndarray:
    """``neuron__adc=5`` → a count vector over :data:`ACTIONS`."""
    v = np.zeros(len(ACTIONS), dtype=np.int64)
    for key, n in counts.items():
        device, action = key.split("__")
        v[_INDEX[(device, action)]] += n
    return v


@dataclass(frozen=True)
class Shape:
    """The sizes the counts of a layered network are made of, read from a topology."""

    inputs: int
    """n₀, input drivers."""
    neurons: int
    """N, non-input neurons."""
    outputs: int
    """n_L, output neurons."""
    connections: int
    """C, every connection (each counted once)."""
    recurrent: int
    """C_rec, connections between two non-input neurons."""
    forward_drivers: int
    """Non-input neurons with a connection to a higher layer (BP's forward activation DACs)."""
    backward_drivers: int
    """Neurons with a connection from a lower non-input layer (BP's backward error DACs)."""

    @classmethod
    def of(cls, topology: Topology) -> Shape:
        sizes, pairs = topology.layer_sizes, topology.pairs
        senders = {a for a, b in pairs if a < b and a > 0}
        receivers = {b for a, b in pairs if a < b and a > 0}
        return cls(
            inputs=sizes[0], neurons=topology.n_state, outputs=sizes[-1],
            connections=topology.n_connections,
            recurrent=sum(topology.connection_count(p) for p in pairs if p[0] > 0),
            forward_drivers=sum(sizes[a] for a in senders),
            backward_drivers=sum(sizes[b] for b in receivers),
        )


@dataclass
class Rates:
    """Actions per event of one datapath on one model: per integration step and example,
    per phase end and example, per update and example, per update (batch), and (DEEP) the
    learning actions per weakly-clamped step and example, counted in ``update``."""

    per_step: dict[str, np.ndarray] = field(default_factory=dict)
    per_end: dict[str, np.ndarray] = field(default_factory=dict)
    update_per_example: np.ndarray = field(default_factory=action_vector)
    update_per_batch: np.ndarray = field(default_factory=action_vector)
    learn_per_step: dict[str, np.ndarray] = field(default_factory=dict)


def network_rates(shape: Shape, datapath: str, symmetric: bool = False) -> Rates:
    """The actions of a layered or layer-skipping network's EP or BP datapath; ``symmetric``:
    EP with the −β phase too, whose steps and cell are those of the +β phase, and an update
    that reads U+β and U−β (two Uβ-type cells) instead of U0 and Uβ."""
    n0, n, c, c_rec = shape.inputs, shape.neurons, shape.connections, shape.recurrent
    rates = Rates(update_per_batch=action_vector(synapse__weight_read=c, synapse__weight_write=c,
                                                 neuron__bias_read=n, neuron__bias_write=n))
    if datapath == "ep":
        step = action_vector(input__dac=n0, neuron__integrate=n, neuron__adc=n, neuron__rho=n, neuron__dac=n,
                             neuron__bias_read=n, synapse__mac_forward=c, synapse__mac_backward=c_rec,
                             synapse__weight_read=c + c_rec)
        rates.per_step = {"free": step, "weakly-clamped": step + action_vector(neuron__nudge=shape.outputs)}
        rates.per_end = {"free": action_vector(neuron__write_u0=n),
                         "weakly-clamped": action_vector(neuron__read_u0=n, neuron__write_ubeta=n)}
        rates.update_per_example = action_vector(input__dac=n0, neuron__read_u0=n, neuron__read_ubeta=n,
                                                 neuron__dac=2 * n, synapse__update_mac=2 * c,
                                                 neuron__bias_accumulate=n)
        if symmetric:
            rates.per_step[NEGATIVE] = rates.per_step["weakly-clamped"]
            rates.per_end[NEGATIVE] = rates.per_end["weakly-clamped"]
            rates.update_per_example += action_vector(neuron__read_ubeta=n) - action_vector(neuron__read_u0=n)
        return rates
    f, b = shape.forward_drivers, shape.backward_drivers
    rates.per_end = {
        "forward": action_vector(input__dac=n0, synapse__mac_forward=c, synapse__weight_read=c,
                                 neuron__bias_read=n, neuron__adc=n, neuron__rho=n,
                                 neuron__write_activation=n, neuron__dac=f),
        "backward": action_vector(neuron__read_activation=shape.outputs, neuron__rho_prime=n,
                                  neuron__write_error=n, neuron__dac=b, synapse__mac_backward=c_rec,
                                  synapse__weight_read=c_rec),
    }
    rates.update_per_example = action_vector(input__dac=n0, neuron__read_activation=f, neuron__read_error=n,
                                             neuron__dac=f + n, synapse__update_mac=c, neuron__bias_accumulate=n)
    return rates


def directed_rates(model: DirectedNetwork, kind: str) -> Rates:
    """The actions of DEEP or asymmetric EP on a directed graph as its synapses are now
    (P inputs, F non-input neurons, O outputs, C live connections, B live biases)."""
    graph, alive = model.graph, model.synapses.alive
    p, f, o = graph.n_inputs, graph.n - graph.n_inputs, graph.n_outputs
    live = alive[: graph.n]
    c, b = int(live.sum()), int(alive[graph.n].sum())
    forward = int(np.triu(live, 1).sum())
    step = action_vector(input__dac=p, neuron__dac=f, neuron__integrate=f, neuron__adc=f, neuron__rho=f,
                         neuron__bias_read=b, synapse__mac_forward=forward, synapse__mac_backward=c - forward,
                         synapse__weight_read=c)
    rates = Rates(per_step={"free": step, "weakly-clamped": step + action_vector(neuron__nudge=o)},
                  per_end={"free": action_vector(neuron__write_u0=f),
                           "weakly-clamped": action_vector(neuron__read_u0=f)},
                  update_per_batch=action_vector(synapse__weight_read=c, synapse__weight_write=c,
                                                 neuron__bias_read=b, neuron__bias_write=b))
    if kind == "deep":
        rates.learn_per_step = {"weakly-clamped": action_vector(neuron__dac=f, synapse__update_mac=c,
                                                                neuron__bias_accumulate=b)}
    else:
        rates.per_end["weakly-clamped"] += action_vector(neuron__write_ubeta=f)
        rates.update_per_example = action_vector(input__dac=p, neuron__read_u0=f, neuron__read_ubeta=f,
                                                 neuron__dac=2 * f, synapse__update_mac=c, neuron__bias_accumulate=b)
    return rates


@dataclass
class Row:
    """One line of the ledger: an action in a phase, its count, bits and energy."""

    phase: str
    device: str
    action: str
    count: int
    bits: int
    pJ_each: float
    source: str

    @property
    def bits_moved(self) -> float:
        return float(self.count) * self.bits

    @property
    def energy_pJ(self) -> float:
        return self.count * self.pJ_each


def action_bits(spec: DeviceSpec, float_bits: int) -> dict[tuple[str, str], int]:
    """Bit depth of every action: its quantisation point's, or ``float_bits`` where ideal."""
    out = {}
    for action, point in ACTION_POINT.items():
        device, name = point.split(".")
        bits = getattr(getattr(spec, device), name).bits
        out[action] = float_bits if bits is None else bits
    return out


class Ledger(Observer):
    """Counts the hardware actions of a run from the events its controller reported: per
    phase (the controller's declared phases, then :data:`INFERENCE`) a count vector over
    :data:`ACTIONS`, with the examples they cover; :meth:`rows` prices them with the
    device file."""

    def __init__(self, spec: DeviceSpec, float_bits: int):
        self.spec = spec
        self.float_bits = float_bits
        self.datapath = self.dynamics = ""
        self.phases: list[str] = []
        self.counts: dict[str, np.ndarray] = {}
        self.seconds: dict[str, float] = {}
        """Time per phase, s, from the device file's ``timing``: integration steps × examples ×
        ``step_seconds`` (a chip evaluates one example at a time), and per update the write
        cycle (``max_pulses`` × ``pulse_seconds`` on pulsed synapses, one pulse otherwise)."""
        self.examples = self.test_examples = self.epochs = 0
        self._restored: dict[str, np.ndarray] | None = None

    def on_start(self, run) -> None:
        controller, model = run.controller, run.model
        self.datapath = controller.datapath
        self.dynamics = controller.kind
        self.phases = [phase.name for phase in controller.phases]
        self.counts = {phase: action_vector() for phase in [*self.phases, INFERENCE]}
        self.seconds = {phase: 0.0 for phase in [*self.phases, INFERENCE]}
        self._pending = {phase: action_vector() for phase in self.phases}
        self._pending_seconds = {phase: 0.0 for phase in self.phases}
        if self._restored is not None:
            for phase, counts in self.counts.items():
                counts += self._restored[f"ledger/{phase}"]
            self.examples, self.test_examples, self.epochs = (int(n) for n in self._restored["ledger/examples"])
            self.seconds = dict(zip(self.seconds, self._restored["ledger/seconds"].tolist()))
            self._restored = None
        if isinstance(model, DirectedNetwork):
            self._rates = lambda: directed_rates(model, controller.kind)  # the live synapses change
        else:
            rates = network_rates(Shape.of(model.topology), controller.datapath, NEGATIVE in self.phases)
            self._rates = lambda: rates

    def on_phase_end(self, phase, steps, examples, model, stored=True) -> None:
        self._pending_seconds[phase] += max(steps, 1) * examples * self.spec.timing.step_seconds
        rates = self._rates()
        counts = self._pending[phase]
        if phase in rates.per_step:
            counts += rates.per_step[phase] * (steps * examples)
        if stored:
            counts += rates.per_end[phase] * examples
        if phase in rates.learn_per_step:
            self._pending["update"] += rates.learn_per_step[phase] * (steps * examples)

    def on_update(self, corrections, examples, model) -> None:
        rates = self._rates()
        counts = rates.update_per_example * examples + rates.update_per_batch
        pulsed = model.synapses.chip.pulsed
        if pulsed is not None:  # pulsed devices are written by their pulses
            counts[_INDEX[("synapse", "weight_write")]] = 0
            counts[_INDEX[("synapse", "pulse")]] = model.synapses.pulses_sent
        self._pending["update"] += counts
        self._pending_seconds["update"] += (pulsed.max_pulses if pulsed else 1) * self.spec.timing.pulse_seconds

    def on_train_batch(self, epoch, batch, record) -> None:
        for phase, counts in self._pending.items():
            self.counts[phase] += counts
            counts[...] = 0
            self.seconds[phase] += self._pending_seconds[phase]
            self._pending_seconds[phase] = 0.0
        self.examples += record.examples

    def on_test_batch(self, epoch, batch, examples) -> None:
        for phase, counts in self._pending.items():
            self.counts[INFERENCE] += counts
            counts[...] = 0
            self.seconds[INFERENCE] += self._pending_seconds[phase]
            self._pending_seconds[phase] = 0.0
        self.test_examples += examples

    def on_epoch_end(self, record) -> None:
        self.epochs += 1

    def state(self) -> dict[str, np.ndarray]:
        """The counts so far, by name, for a run's checkpoint."""
        out = {f"ledger/{phase}": counts.copy() for phase, counts in self.counts.items()}
        out["ledger/examples"] = np.array([self.examples, self.test_examples, self.epochs], dtype=np.int64)
        out["ledger/seconds"] = np.array(list(self.seconds.values()), dtype=np.float64)
        return out

    def restore(self, arrays: dict[str, np.ndarray]) -> None:
        """Continue from the counts of a checkpoint (:meth:`state`); they apply when the run starts."""
        self._restored = arrays

    def rows(self) -> list[Row]:
        """Every action with a nonzero count, phase by phase (training phases, then inference)."""
        bits = action_bits(self.spec, self.float_bits)
        rows = []
        for phase, counts in self.counts.items():
            for (device, action), n in zip(ACTIONS, counts):
                if n:
                    entry = self.spec.energy.entry(device, action)
                    b = bits[(device, action)]
                    rows.append(Row(phase, device, action, int(n), b, entry.at(b), entry.source))
        return rows


def write(file: h5py.File, ledger: Ledger, cache: dict | None = None) -> None:
    """Replace ``/ledger`` in a run file with the ledger's current totals (layout: ``docs/run-file.md``).

    ``cache``: a dict kept by a caller that writes the same file's ledger again and again
    (the recorder, after every epoch). It remembers the group, its datasets and what they
    hold; while every column keeps its shape and dtype, a later call overwrites in place
    only the datasets and attributes whose values changed (the file ends up the same as if
    the group had been written afresh); otherwise the group is written afresh.
    """
    rows = ledger.rows()
    text = h5py.string_dtype()
    row = "; axis: row (one per phase x device kind x action with a nonzero count)"
    columns = {}
    for name, values, dtype, attrs in [
        ("phase", [r.phase for r in rows], text,
         {"description": "phase the actions belong to: a training phase of the datapath, or 'inference' "
                         "(test-set evaluation)" + row}),
        ("device", [r.device for r in rows], text,
         {"description": "device kind that performs the action (input, neuron, synapse)" + row}),
        ("action", [r.action for r in rows], text,
         {"description": "the hardware action, as named in the device file's energy table" + row}),
        ("count", [r.count for r in rows], np.int64,
         {"description": "actions performed over the whole run" + row, "units": "count"}),
        ("bits", [r.bits for r in rows], np.int64,
         {"description": "width of the action's signal: its quantisation point's bit depth, or the float "
                         "width where the point is ideal" + row, "units": "bits"}),
        ("bits_moved", [r.bits_moved for r in rows], np.float64,
         {"description": "count x bits: the bits the row's actions carried over the run" + row, "units": "bits"}),
        ("pJ_each", [r.pJ_each for r in rows], np.float64,
         {"description": "energy of one action at that width, from the device file's energy table" + row,
          "units": "pJ"}),
        ("energy_pJ", [r.energy_pJ for r in rows], np.float64,
         {"description": "count x pJ_each: the energy of the row's actions over the run" + row, "units": "pJ"}),
        ("source", [r.source for r in rows], text,
         {"description": "where the pJ_each figure comes from (publication, or the assumption made)" + row}),
    ]:
        columns[name] = (np.array(values, dtype=object if dtype is text else dtype), dtype, {**attrs, "axes": "row"})
    phases = list(ledger.seconds)
    for name, values, dtype, attrs in [
        ("phase", phases, text, {"description": "phase (training phases, then 'inference')"}),
        ("seconds", [ledger.seconds[p] for p in phases], np.float64,
         {"description": "time the phase took over the whole run", "units": "s"}),
        ("seconds_per_example", [ledger.seconds[p] / (ledger.test_examples if p == INFERENCE else ledger.examples)
                                 if (ledger.test_examples if p == INFERENCE else ledger.examples) else np.nan
                                 for p in phases], np.float64,
         {"description": "the phase's time per example (per training example; inference: per test example)",
          "units": "s"}),
    ]:
        columns[f"latency/{name}"] = (np.array(values, dtype=object if dtype is text else dtype), dtype,
                                      {**attrs, "axes": "phase"})
    training = sum(r.energy_pJ for r in rows if r.phase != INFERENCE)
    inference = sum(r.energy_pJ for r in rows if r.phase == INFERENCE)
    group_attrs = {
        "description": "hardware actions per phase x device kind x action, totals over the run "
                       "(training phases, and test-set evaluation as phase 'inference')",
        "datapath": ledger.datapath, "dynamics": ledger.dynamics, "devices": ledger.spec.name, "float_bits": ledger.float_bits,
        "examples": ledger.examples, "test_examples": ledger.test_examples, "epochs": ledger.epochs,
        "energy_total_pJ": training,
        "energy_per_example_pJ": training / ledger.examples if ledger.examples else np.nan,
        "inference_energy_per_example_pJ": inference / ledger.test_examples if ledger.test_examples else np.nan,
    }
    held = cache.get("datasets") if cache is not None else None
    if held is not None and held.keys() == columns.keys() and all(
            held[name][1].shape == values.shape and held[name][1].dtype == values.dtype
            for name, (values, _, _) in columns.items()):
        for name, (values, _, _) in columns.items():  # the same rows: overwrite what changed, in place
            ds, written = held[name]
            if not np.array_equal(written, values, equal_nan=values.dtype.kind == "f"):
                if values.dtype.kind == "O":
                    ds[...] = values
                else:
                    write_all(ds, values)
                held[name] = (ds, values)
        g, written = cache["group"], cache["attrs"]
        for key, value in group_attrs.items():
            if not _same(written.get(key), value):
                g.attrs[key] = value
                written[key] = value
        return
    if "ledger" in file:
        del file["ledger"]
    g = file.create_group("ledger")
    datasets = {}
    for name, (values, dtype, attrs) in columns.items():
        if name == "latency/phase":
            g.create_group("latency").attrs["description"] = (
                "time per phase from the device file's timing: integration steps x examples x "
                "step_seconds (one example at a time), and per update the write cycle")
        ds = g.create_dataset(name, data=values, dtype=dtype)
        ds.attrs.update(attrs)
        datasets[name] = (ds, values)
    g.attrs.update(group_attrs)
    if cache is not None:
        cache.update(group=g, datasets=datasets, attrs=dict(group_attrs))


def _same(a, b) -> bool:
    """Two attribute values equal (NaN equal to NaN)."""
    if a is None or type(a) is not type(b):
        return False
    if isinstance(a, float) and a != a:
        return b != b
    return a == b
