"""The weakly-clamped step: the paper's split nudge (default) and the single Euler step.

The paper's code (Gammell et al.'s ``__step_weakly_clamped``) steps every non-input neuron
with the energy's field, *then* nudges the new output state, *then* clips:

    v = (1 − ε)s + ε(W ρ(u) + b);   v_out ← v_out + 2εβ(y − v_out);   s ← clip(v, 0, 1)

``nudge: euler`` integrates the whole field, nudge included, in one Euler step from the
old state. These tests compute both by hand from the full weight matrix.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from conftest import controller_for, full_matrix, random_network
from neurosim.learning.directed_dynamics import relax
from neurosim.models.directed import DirectedNetwork
from neurosim.models.graph import DirectedGraph
from neurosim.devices.kernels import leaky_integrate, leaky_integrate_quantised
from neurosim.devices.quantize import IDEAL_PARAMS
from neurosim.config.scenario import DirectedDynamicsConfig, DynamicsConfig
from neurosim.models.topology import layered

SIZES = [3, 4, 2]


def hand_step(network, x, s, target, epsilon, beta, nudge):
    """One weakly-clamped step of every non-input neuron, written out from the equations."""
    w = full_matrix(network)
    u = np.concatenate([x, s], axis=1)
    field = u @ w[:, SIZES[0]:] + network.neurons.bias  # W ρ(u) + b, ρ the identity on [0, 1]
    out = slice(SIZES[1], None)
    if nudge == "split":
        v = (1 - epsilon) * s + epsilon * field
        v[:, out] += 2 * epsilon * beta * (target - v[:, out])
    else:
        field[:, out] += 2 * beta * (target - s[:, out])
        v = (1 - epsilon) * s + epsilon * field
    return np.clip(v, 0.0, 1.0)


def one_clamped_step(network, x, start, target, epsilon, beta, nudge):
    """One weakly-clamped step through the controller (U0 loaded, one step, Uβ stored)."""
    ctl = controller_for(network, epsilon=epsilon, steps=1, nudge=nudge)
    network.neurons.cells["u0"] = start.copy()
    return ctl.clamped_phase(x, target, beta).copy()


outputs_near_bounds = st.lists(st.sampled_from([0.0, 1e-3, 0.5, 1 - 1e-3, 1.0]), min_size=2, max_size=2)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), epsilon=st.floats(0.05, 1.0), two_eps_beta=st.floats(0.01, 3.0),
       negative=st.booleans(), outputs=outputs_near_bounds, nudge=st.sampled_from(["split", "euler"]))
@example(seed=1, epsilon=0.5, two_eps_beta=1.0, negative=False, outputs=[0.0, 1.0], nudge="split")  # the paper's
@example(seed=2, epsilon=0.5, two_eps_beta=1.0, negative=True, outputs=[1e-3, 1 - 1e-3], nudge="split")
@example(seed=3, epsilon=0.25, two_eps_beta=0.5, negative=False, outputs=[1.0, 0.0], nudge="split")
@example(seed=4, epsilon=0.75, two_eps_beta=2.5, negative=True, outputs=[0.5, 1.0], nudge="split")
def test_one_weakly_clamped_step_matches_the_equations(seed, epsilon, two_eps_beta, negative, outputs, nudge):
    rng = np.random.default_rng(seed)
    network = random_network(layered(SIZES), rng, scale=0.8)
    beta = (-1 if negative else 1) * two_eps_beta / (2 * epsilon)
    x = rng.uniform(0, 1, (3, SIZES[0]))
    start = rng.uniform(0, 1, (3, SIZES[1] + SIZES[2]))
    start[:, SIZES[1]:] = outputs
    target = np.eye(2)[[0, 1, 1]]
    got = one_clamped_step(network, x, start, target, epsilon, beta, nudge)
    np.testing.assert_allclose(got, hand_step(network, x, start, target, epsilon, beta, nudge), rtol=0, atol=1e-12)


def test_split_step_with_two_eps_beta_one_puts_a_positively_nudged_output_on_its_target(rng):
    """With ε = 0.5, β = +1 (the paper's settings) every output lands exactly on y, whatever
    the state and the currents: v + 1·(y − v) = y. The single Euler step does not."""
    network = random_network(layered(SIZES), rng, scale=0.8)
    x, start = rng.uniform(0, 1, (4, 3)), rng.uniform(0, 1, (4, 6))
    target = np.eye(2)[[0, 1, 0, 1]]
    split = one_clamped_step(network, x, start, target, 0.5, 1.0, "split")
    euler = one_clamped_step(network, x, start, target, 0.5, 1.0, "euler")
    np.testing.assert_array_equal(split[:, 4:], target)
    assert np.abs(euler[:, 4:] - target).max() > 1e-3


def test_the_two_forms_agree_to_first_order_in_eps_beta(rng):
    """Per step, split − euler = 2ε²β(s − v₀)-like terms: scaling ε and β by h shrinks the
    difference as h³ while the nudge itself shrinks as h², so they agree to first order."""
    network = random_network(layered(SIZES), rng, scale=0.3, bias=0.5)
    x, start = rng.uniform(0, 1, (3, 3)), rng.uniform(0.3, 0.7, (3, 6))
    target = np.eye(2)[[0, 1, 1]]
    differences, nudges = [], []
    for h in (1e-1, 1e-2, 1e-3):
        epsilon, beta = 0.5 * h, 1.0 * h
        split = one_clamped_step(network, x, start, target, epsilon, beta, "split")
        euler = one_clamped_step(network, x, start, target, epsilon, beta, "euler")
        free = controller_for(network, epsilon=epsilon, steps=1).free_phase(x, start).copy()
        differences.append(np.abs(split - euler).max())
        nudges.append(np.abs(euler - free).max())
    for a, b in zip(differences, differences[1:]):
        assert 700 < a / b < 1300, differences  # ∝ h³
    for a, b in zip(nudges, nudges[1:]):
        assert 70 < a / b < 130, nudges  # ∝ h²
    assert differences[-1] < 1e-3 * nudges[-1]


def test_free_phase_is_the_same_under_both_forms(rng):
    network = random_network(layered(SIZES), rng, scale=0.8)
    x, start = rng.uniform(0, 1, (3, 3)), rng.uniform(0, 1, (3, 6))
    results = []
    for nudge in ("split", "euler"):
        ctl = controller_for(network, steps=20, nudge=nudge)
        results.append(ctl.free_phase(x, start).copy())
    np.testing.assert_array_equal(*results)


@pytest.mark.parametrize("split", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_quantised_kernel_with_ideal_points_equals_the_float_kernel(split, dtype):
    rng = np.random.default_rng(7)
    s0 = rng.uniform(0, 1, (5, 9)).astype(dtype)
    current = rng.normal(0, 2, (5, 9)).astype(dtype)
    target = rng.uniform(0, 1, (5, 3)).astype(dtype)
    float_s = s0.copy()
    fused_s, fused_r = s0.copy(), np.empty_like(s0)
    params = np.stack([IDEAL_PARAMS] * 3)
    states = np.zeros((3, 1), dtype=np.uint64)
    for _ in range(4):
        leaky_integrate(float_s, current, 0.5, 6, 2.0, target, split)
        leaky_integrate_quantised(fused_s, fused_r, current, 0.5, 6, 2.0, target, split, params, states)
        np.testing.assert_array_equal(fused_s, float_s)
        np.testing.assert_array_equal(fused_r, float_s)


def test_nudge_defaults_follow_each_papers_code():
    assert DynamicsConfig().nudge == "split"
    assert DirectedDynamicsConfig(kind="deep").nudge == "euler"
    assert DirectedDynamicsConfig(kind="asymmetric").nudge == "euler"
    assert DirectedDynamicsConfig(kind="deep", nudge="split").nudge == "split"
    assert DynamicsConfig(nudge="euler").nudge == "euler"


@pytest.mark.parametrize("split", [True, False])
def test_directed_clamped_step_matches_the_equations(split):
    # 1 input, 1 hidden, 1 output (DEEP field, eq. 1), one step, β = 1, ε = 0.5.
    graph = DirectedGraph(1, 1, 1)
    w = np.zeros((4, 3))
    w[0, 1], w[0, 2], w[1, 2], w[2, 1] = 0.4, 0.2, 0.6, 0.3
    w[3, 1], w[3, 2] = 0.1, -0.05
    model = DirectedNetwork.create(graph, w)
    beta, eps, y = 1.0, 0.5, 0.9
    x, h, o = 1.0, 0.2, 0.3
    field_h = 0.4 * x + 0.3 * o + 0.1 - h * 0.6
    field_o = 0.2 * x + 0.6 * h - 0.05 - o * 0.3
    if split:
        v_o = o + eps * field_o
        v_o += 2 * eps * beta * (y - v_o)
    else:
        v_o = o + eps * (field_o + 2 * beta * (y - o))
    expected = [x, np.clip(h + eps * field_h, 0, 1), np.clip(v_o, 0, 1)]
    end = relax("deep", model, np.array([[x, h, o]]), 1, eps, beta, np.array([[y]]), split=split)
    np.testing.assert_allclose(end[0], expected, atol=1e-12)


@pytest.mark.parametrize("beta", [0.4, -0.3, 0.05])
def test_split_equilibrium_is_the_euler_equilibrium_at_the_effective_beta(beta, rng):
    """At a fixed point of the split step (no neuron clipped) the output neurons satisfy
    s − (Wρ(u) + b) = 2β(y − s)/(1 − 2εβ): the split step settles where the single Euler
    step settles with β_eff = β/(1 − 2εβ) (ε = 0.5: β = 0.4 → 2/3, β = −0.3 → −3/13)."""
    epsilon = 0.5
    network = random_network(layered(SIZES), rng, scale=0.3, bias=0.5)
    x = rng.uniform(0, 1, (3, 3))
    settle = 3000
    split = controller_for(network, epsilon, settle, "split")
    start = split.free_phase(x, np.full((3, 6), 0.5)).copy()
    target = start[:, 4:] + np.array([0.05, -0.05])  # near the free outputs: nothing clips
    network.neurons.cells["u0"] = start.copy()
    s_split = split.clamped_phase(x, target, beta).copy()
    euler = controller_for(network, epsilon, settle, "euler")
    network.neurons.cells["u0"] = start.copy()
    s_euler = euler.clamped_phase(x, target, beta / (1 - 2 * epsilon * beta)).copy()
    assert np.all((s_split > 0.01) & (s_split < 0.99)), "test premise: no neuron clipped"
    np.testing.assert_allclose(s_split, s_euler, rtol=0, atol=1e-10)
