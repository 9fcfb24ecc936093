"""Shared fixtures: small networks built directly from the library's parts."""

from __future__ import annotations

import numpy as np
import pytest

from neurosim.learning.ep import EquilibriumPropagation
from neurosim.learning.rules import Beta, EPRule
from neurosim.models.network import Network
from neurosim.config.scenario import DynamicsConfig
from neurosim.models.topology import Topology


def full_matrix(network: Network) -> np.ndarray:
    """The symmetric N × N weight matrix over all neurons, assembled from the blocks."""
    topo = network.topology
    w = np.zeros((topo.offsets[-1],) * 2)
    for (a, b), block in network.synapses.weights.items():
        w[topo.layer_slice(a), topo.layer_slice(b)] = block
        w[topo.layer_slice(b), topo.layer_slice(a)] = block.T
    return w


def controller_for(network: Network, epsilon: float = 0.5, steps: int = 10,
                   nudge: str = "split") -> EquilibriumPropagation:
    dynamics = DynamicsConfig(epsilon=epsilon, beta=1.0, t_free=steps, t_clamped=steps, nudge=nudge)
    rates = {pair: 1.0 for pair in network.topology.pairs}
    rule = EPRule(Beta(dynamics.beta, dynamics.random_beta_sign))
    return EquilibriumPropagation(network, dynamics, rule, rates, np.ones(network.topology.n_state))


def random_network(topology: Topology, rng: np.random.Generator, scale: float, bias: float = 0.0) -> Network:
    """Float64 network with uniform weights in [−scale, scale] on every existing connection."""
    weights = {}
    for (a, b) in topology.pairs:
        w = rng.uniform(-scale, scale, (topology.layer_sizes[a], topology.layer_sizes[b]))
        if a == b:
            w = np.triu(w, 1) + np.triu(w, 1).T
        if topology.masks[(a, b)] is not None:
            w = w * topology.masks[(a, b)]
        weights[(a, b)] = w
    network = Network.create(topology, weights, np.float64)
    network.neurons.bias[:] = bias + rng.uniform(-0.1, 0.1, topology.n_state)
    return network


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
