"""A network: its topology plus the neuron and synapse device banks, built from a scenario."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurosim.devices.pulsed import Chip
from neurosim.devices.spec import Quantisers
from neurosim.devices.neurons import NeuronBank
from neurosim.devices.synapses import SynapseBank
from neurosim.errors import ConfigError
from neurosim.devices.kernels import rho
from neurosim.config.scenario import Scenario
from neurosim.streams import stream
from neurosim.models.topology import LayerPair, Topology, initial_weights, layer_skipping, layered, pair_name
from neurosim.runfile.layout import COUNT, STATE_SCALE_UNITS, WEIGHT_UNITS


def group_names(n_layers: int) -> dict[str, int]:
    """Names of the neuron groups of a layered model: ``h1`` … ``h{L−1}`` for the hidden
    layers, ``output`` for layer L (the input layer is clamped, not a group of states)."""
    return {**{f"h{layer}": layer for layer in range(1, n_layers - 1)}, "output": n_layers - 1}


class NeuronGroups:
    """Named neuron groups over a neuron bank's columns: ``model.state("h1")`` without slices."""

    groups: dict[str, int]
    neurons: NeuronBank

    def state(self, group: str | int) -> np.ndarray:
        """States of one group (batch × its neurons), by name (``h1``, ``output``) or layer number."""
        return self.neurons.s[:, self.columns(group)]

    def columns(self, group: str | int) -> slice:
        """The state columns of a group, by name or layer number."""
        layer = self.groups.get(group, group) if isinstance(group, str) else group
        if layer not in self.neurons.slices:
            raise KeyError(f"no neuron group {group!r}; groups: {', '.join(self.groups)}")
        return self.neurons.slices[layer]


@dataclass
class Network(NeuronGroups):
    """A layered Hopfield network: Topology + NeuronBank + SynapseBank, blocks by layer pair."""

    topology: Topology
    neurons: NeuronBank
    synapses: SynapseBank

    @classmethod
    def create(cls, topology: Topology, weights, dtype=np.float32, quantisers: Quantisers | None = None,
               chip: Chip | None = None) -> Network:
        """Banks for ``topology`` with initial ``weights``; ``quantisers`` default to all ideal,
        ``chip`` (the analog synapse behaviour) to exact, noiseless synapses."""
        return cls(topology, NeuronBank(topology.state_slices(), dtype, quantisers),
                   SynapseBank(topology, weights, dtype, quantisers, chip))

    @property
    def groups(self) -> dict[str, int]:
        return group_names(self.topology.n_layers)

    @property
    def blocks(self) -> dict[LayerPair, str]:
        """Synapse blocks (one per layer pair) and their names (``0-1``)."""
        return {pair: pair_name(pair) for pair in self.topology.pairs}

    @property
    def connections(self) -> dict[LayerPair, int]:
        """Connections per synapse block."""
        return {pair: self.topology.connection_count(pair) for pair in self.topology.pairs}

    def block_mask(self, block: LayerPair) -> np.ndarray | None:
        """True where a block's synapses exist; None for a complete block."""
        return self.topology.masks[block]

    def block_axes(self, block: LayerPair) -> tuple[str, str]:
        """What the two axes of a weight block index."""
        return f"neuron of layer {block[0]}", f"neuron of layer {block[1]}"

    def block_attrs(self, block: LayerPair) -> dict:
        """What a run file says of a block beside its data."""
        return {"layer_pair": pair_name(block), "pre_layer": block[0], "post_layer": block[1]}

    def neuron_layer(self) -> np.ndarray:
        """The layer of every state column."""
        return np.repeat(np.arange(1, self.topology.n_layers), self.topology.layer_sizes[1:])

    def topology_datasets(self) -> dict[str, tuple[np.ndarray, dict]]:
        """What the run file's ``/topology`` holds: name → (data, attributes)."""
        topo = self.topology
        return {
            "layer_sizes": (np.array(topo.layer_sizes), {
                "description": "neurons per layer, input layer first", "axes": "layer", "units": COUNT}),
            "layer_pairs": (np.array([pair_name(p) for p in topo.pairs], dtype=object), {
                "description": "names 'a-b' (a ≤ b, 0 the input layer) of the layer pairs holding connections, "
                               "the order of every per-pair column in the run file", "axes": "layer pair"}),
            "connections": (np.array([topo.connection_count(p) for p in topo.pairs]), {
                "description": "connections per layer pair, in layer_pairs order", "axes": "layer pair",
                "units": COUNT}),
        }

    def topology_attrs(self) -> dict:
        return {"kind": self.topology.kind, "replacements": self.topology.replacements}

    def final_datasets(self) -> dict[str, tuple[np.ndarray, dict]]:
        """The final device state for the run file's ``/final``: path → (data, attributes)."""
        out = {f"weights/{pair_name(pair)}": (w, {
            "description": f"final weights W of layer pair {pair_name(pair)}, 0 where no connection",
            "axes": f"neuron of layer {pair[0]}, neuron of layer {pair[1]}", "units": WEIGHT_UNITS})
            for pair, w in self.synapses.weights.items()}
        out["biases"] = (self.neurons.bias, {
            "description": "final biases b of the non-input neurons, hidden layers then output",
            "axes": "non-input neuron (hidden layers, then output)", "units": STATE_SCALE_UNITS,
            "layer_sizes": self.topology.layer_sizes[1:]})
        return out

    def energy(self, x: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Hopfield energy of each example (paper eq. 2), with u = (x, s):

        E(u) = ½ uᵀu − ½ ρ(u)ᵀ W ρ(u) − bᵀu,

        W the full symmetric weight matrix, so an inter-layer block enters once as
        ρ_aᵀ W_ab ρ_b and an intralayer block as ½ ρ_aᵀ W_aa ρ_a. Inputs have no bias.
        """
        x64, s64 = x.astype(np.float64), s.astype(np.float64)
        r = {0: rho(x64)}
        for layer, sl in self.neurons.slices.items():
            r[layer] = rho(s64[:, sl])
        energy = 0.5 * (x64 ** 2).sum(1) + 0.5 * (s64 ** 2).sum(1) - s64 @ self.neurons.bias.astype(np.float64)
        for (a, b), w in self.synapses.weights.items():
            coupling = ((r[a] @ w.astype(np.float64)) * r[b]).sum(1)
            energy -= 0.5 * coupling if a == b else coupling
        return energy


def build_topology(scenario: Scenario) -> Topology:
    """The scenario's topology, rewired with the scenario's ``topology`` random stream."""
    config = scenario.topology
    if config.kind == "layered":
        return layered(config.sizes)
    return layer_skipping(config.sizes, stream(scenario.seed, "topology"), n=config.n, p=config.p, mode=config.mode)


def build_network(scenario: Scenario, n_inputs: int | None = None, n_outputs: int | None = None) -> Network:
    """Topology, initial weights (``init`` stream), zero biases and the scenario's devices.

    ``n_inputs``/``n_outputs``, when given (from the data set), must match the first and
    last layer sizes.
    """
    sizes = scenario.topology.sizes
    if n_inputs is not None and sizes[0] != n_inputs:
        raise ConfigError(None, "topology.sizes[0]", f"input layer has {sizes[0]} neurons but the data has {n_inputs} pixels")
    if n_outputs is not None and sizes[-1] != n_outputs:
        raise ConfigError(None, f"topology.sizes[{len(sizes) - 1}]",
                          f"output layer has {sizes[-1]} neurons but the data has {n_outputs} classes")
    topology = build_topology(scenario)
    dtype = np.dtype(scenario.training.dtype)
    weights = initial_weights(topology, stream(scenario.seed, "init"), scenario.topology.nonadjacent_init, dtype)
    devices = scenario.devices
    return Network.create(topology, weights, dtype, Quantisers.build(devices, scenario.seed),
                          Chip(devices.synapse, devices.timing, scenario.seed))
