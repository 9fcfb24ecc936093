"""A network: its topology plus the neuron and synapse device banks, built from a scenario."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurosim.devices.spec import Quantisers
from neurosim.devices.neurons import NeuronBank
from neurosim.devices.synapses import SynapseBank
from neurosim.errors import ConfigError
from neurosim.devices.kernels import rho
from neurosim.config.scenario import Scenario
from neurosim.streams import stream
from neurosim.models.topology import Topology, initial_weights, layer_skipping, layered


@dataclass
class Network:
    """Topology + NeuronBank + SynapseBank."""

    topology: Topology
    neurons: NeuronBank
    synapses: SynapseBank

    @classmethod
    def create(cls, topology: Topology, weights, dtype=np.float32, quantisers: Quantisers | None = None) -> Network:
        """Banks for ``topology`` with initial ``weights``; ``quantisers`` default to all ideal."""
        return cls(topology, NeuronBank(topology, dtype, quantisers), SynapseBank(topology, weights, dtype, quantisers))

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
    return Network.create(topology, weights, dtype, Quantisers.build(scenario.devices, scenario.seed))
