"""Free-phase dynamics descend the Hopfield energy (paper eq. 2) whenever the step is stable.

Inside the box [0, 1] the energy is the quadratic E = ½ sᵀ(I − W_ss)s − sᵀ(W_sx x + b) +
const, and each step is a projected gradient step of size ε. Projected gradient descent
on an L-smooth function never increases it for ε < 2/L, with L = ‖I − W_ss‖₂.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import controller_for, full_matrix, random_network
from neurosim.models.topology import layer_skipping, layered


def reference_energy(w_full, bias, x, s):
    """E(u) = ½uᵀu − ½ρ(u)ᵀWρ(u) − bᵀu, written out from the paper, per example."""
    u = np.concatenate([x, s], axis=1)
    r = np.clip(u, 0, 1)
    b = np.concatenate([np.zeros(x.shape[1]), bias])
    return 0.5 * (u * u).sum(1) - 0.5 * np.einsum("ki,ij,kj->k", r, w_full, r) - u @ b


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=3, max_size=5),
    skipping=st.booleans(),
    scale=st.floats(0.05, 1.5),
    step_fraction=st.floats(0.05, 0.99),
    seed=st.integers(0, 2**32 - 1),
)
def test_energy_never_increases_along_free_phase(sizes, skipping, scale, step_fraction, seed):
    rng = np.random.default_rng(seed)
    topology = layer_skipping(sizes, rng, n=int(rng.integers(0, 4))) if skipping else layered(sizes)
    network = random_network(topology, rng, scale=scale, bias=0.2)
    w = full_matrix(network)
    n_in = sizes[0]
    lipschitz = np.linalg.norm(np.eye(len(w) - n_in) - w[n_in:, n_in:], 2)
    epsilon = min(1.0, step_fraction * 2.0 / lipschitz)
    ctl = controller_for(network, epsilon=epsilon)
    x = rng.uniform(0, 1, (4, n_in))
    network.neurons.load(rng.uniform(0, 1, (4, topology.n_state)))
    energies = [reference_energy(w, network.neurons.bias, x, network.neurons.s)]
    for _ in range(30):
        ctl.relax(x, steps=1)
        energies.append(reference_energy(w, network.neurons.bias, x, network.neurons.s))
    energies = np.array(energies)
    assert np.all(np.diff(energies, axis=0) <= 1e-9 * (1 + np.abs(energies[:-1]))), energies
    np.testing.assert_allclose(network.energy(x, network.neurons.s), energies[-1], rtol=1e-9, atol=1e-9)


def test_energy_can_increase_when_the_step_is_unstable():
    """The stability premise matters: a step far beyond 2/L makes the energy oscillate up."""
    rng = np.random.default_rng(3)
    network = random_network(layered([3, 6, 6, 2]), rng, scale=0.1, bias=0.0)
    network.synapses.weights[(1, 2)][...] = -2.0  # strongly inhibitory: L = ‖I − W_ss‖ ≈ 13
    ctl = controller_for(network, epsilon=1.0)
    x = rng.uniform(0, 1, (2, 3))
    network.neurons.load(rng.uniform(0, 1, (2, network.topology.n_state)))
    energies = [network.energy(x, network.neurons.s)]
    for _ in range(10):
        ctl.relax(x, steps=1)
        energies.append(network.energy(x, network.neurons.s))
    assert np.any(np.diff(np.array(energies), axis=0) > 1e-6)
