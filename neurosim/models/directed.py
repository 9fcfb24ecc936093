"""A complete directed graph as a model (the DEEP paper): neuron bank + directed synapse bank."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurosim.devices.directed_synapses import DirectedSynapseBank
from neurosim.devices.neurons import NeuronBank
from neurosim.devices.pulsed import Chip
from neurosim.devices.spec import Quantisers
from neurosim.models.graph import DirectedGraph
from neurosim.models.network import NeuronGroups
from neurosim.runfile.layout import COUNT, WEIGHT_UNITS
from neurosim.streams import stream


@dataclass
class DirectedNetwork(NeuronGroups):
    """A complete directed graph as a model: its neuron bank (states of every neuron, the
    clamped inputs in the first P columns, with the U0/Uβ memory cells and the neuron
    quantisation points) and its directed synapse bank (weights, the bias row of the
    always-on neuron, the alive mask). One synapse block, ``W``: (N + 1) × N."""

    graph: DirectedGraph
    neurons: NeuronBank
    synapses: DirectedSynapseBank
    groups = {"input": 0, "hidden": 1, "output": 2}

    @classmethod
    def create(cls, graph: DirectedGraph, weights: np.ndarray, quantisers: Quantisers | None = None,
               chip: Chip | None = None) -> DirectedNetwork:
        """Banks for ``graph`` with initial ``weights`` ((N + 1) × N, written through q_W, q_b,
        or programmed into ``chip``'s pulsed devices)."""
        quantisers = quantisers or Quantisers.ideal()
        p, h = graph.n_inputs, graph.n_inputs + graph.n_hidden
        slices = {0: slice(0, p), 1: slice(p, h), 2: slice(h, graph.n)}
        return cls(graph, NeuronBank(slices, weights.dtype, quantisers, bias=False),
                   DirectedSynapseBank(graph, weights, quantisers, chip))

    @property
    def blocks(self) -> dict[str, str]:
        return {"W": "W"}

    @property
    def connections(self) -> dict[str, int]:
        """Live connections and biases of the one block."""
        return {"W": int(self.synapses.alive.sum())}

    def block_mask(self, block: str) -> np.ndarray:
        return self.synapses.alive

    def block_axes(self, block: str) -> tuple[str, str]:
        return "from neuron i (row N: the bias neuron)", "to neuron j"

    def block_attrs(self, block: str) -> dict:
        return {"block": block}

    def neuron_layer(self) -> np.ndarray:
        """The group of every state column: 0 input, 1 hidden, 2 output."""
        g = self.graph
        return np.repeat(np.arange(3), [g.n_inputs, g.n_hidden, g.n_outputs])

    def topology_datasets(self) -> dict[str, tuple[np.ndarray, dict]]:
        """What the run file's ``/topology`` holds: name → (data, attributes)."""
        g, alive = self.graph, self.synapses.alive
        return {
            "layer_sizes": (np.array([g.n_inputs, g.n_hidden, g.n_outputs]), {
                "description": "neurons per group: inputs, hidden, outputs", "axes": "group", "units": COUNT}),
            "connections": (np.array([int(alive[: g.n].sum())]), {
                "description": "directed connections between neurons at the start (biases not counted), "
                               "one entry for the one synapse block W", "axes": "synapse block", "units": COUNT}),
            "initial_alive": (alive.copy(), {
                "description": "True where the connection i → j exists at the start (row N: the bias of j)",
                "axes": "from neuron i (row N: the bias neuron), to neuron j"}),
        }

    def topology_attrs(self) -> dict:
        return {"kind": "complete_directed"}

    def final_datasets(self) -> dict[str, tuple[np.ndarray, dict]]:
        """The final device state for the run file's ``/final``: path → (data, attributes)."""
        axes = "from neuron i (row N: the bias neuron), to neuron j"
        return {
            "weights": (self.synapses.weights, {
                "description": "final W[i, j] of the connection i → j (row N: the biases), 0 where removed or absent",
                "axes": axes, "units": WEIGHT_UNITS}),
            "alive": (self.synapses.alive, {
                "description": "True where the connection i → j (row N: the bias of j) is still present at the end",
                "axes": axes}),
        }


def build_directed(scenario) -> DirectedNetwork:
    """Graph, initial weights (``init`` stream, U[−a, a]) and devices of a directed scenario."""
    sizes = scenario.topology.sizes
    graph = DirectedGraph(sizes[0], sum(sizes[1:-1]), sizes[-1])
    dtype = np.dtype(scenario.training.dtype)
    scale = scenario.directed.init_scale
    weights = stream(scenario.seed, "init").uniform(-scale, scale, (graph.n + 1, graph.n)).astype(dtype)
    devices = scenario.devices
    return DirectedNetwork.create(graph, weights, Quantisers.build(devices, scenario.seed),
                                  Chip(devices.synapse, devices.timing, scenario.seed))
