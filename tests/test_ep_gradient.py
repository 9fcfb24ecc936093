"""The EP theorem: as β → 0 the EP update approaches minus the true gradient of the cost.

The true gradient is computed independently of the simulator's dynamics: while no neuron
is clipped, the free equilibrium solves the linear system (I − W_ss) s = W_sx x + b
(∂E/∂s = 0 with ρ the identity on [0, 1]), so J(θ) = mean ‖y*(θ) − y_target‖² can be
differentiated by central finite differences of that closed-form solution.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import controller_for, full_matrix, random_network
from neurosim.learning.rules import EPRule
from neurosim.models.topology import layer_skipping, layered

RELAX = 4000  # steps: converged to float64 precision for these contracting networks


def equilibrium(network, x):
    """Closed-form free equilibrium of the unclipped dynamics."""
    w = full_matrix(network)
    n_in = network.topology.layer_sizes[0]
    w_ss, w_sx = w[n_in:, n_in:], w[n_in:, :n_in]
    a = np.eye(len(w_ss)) - w_ss
    return np.linalg.solve(a, (x @ w_sx.T + network.neurons.bias).T).T


def cost(network, x, target):
    y = equilibrium(network, x)[:, network.neurons.out_start:]
    return np.mean(np.sum((y - target) ** 2, axis=1))


def true_gradients(network, x, target, h=1e-6):
    grads = {}
    for pair, w in network.synapses.weights.items():
        g = np.zeros_like(w)
        mask = network.topology.masks[pair]
        for i, j in zip(*np.nonzero(np.ones_like(w) if mask is None else mask)):
            if pair[0] == pair[1] and j < i:
                continue
            values = []
            for sign in (1, -1):
                w[i, j] += sign * h
                if pair[0] == pair[1]:
                    w[j, i] += sign * h
                values.append(cost(network, x, target))
                w[i, j] -= sign * h
                if pair[0] == pair[1]:
                    w[j, i] -= sign * h
            g[i, j] = (values[0] - values[1]) / (2 * h)
            if pair[0] == pair[1]:
                g[j, i] = g[i, j]
        grads[pair] = g
    b = network.neurons.bias
    gb = np.zeros_like(b)
    for k in range(len(b)):
        b[k] += h
        up = cost(network, x, target)
        b[k] -= 2 * h
        down = cost(network, x, target)
        b[k] += h
        gb[k] = (up - down) / (2 * h)
    return grads, gb


def ep_estimate(network, x, target, beta, nudge):
    """Symmetric EP estimate: the corrections for +β and −β averaged (error O(β²))."""
    ctl = controller_for(network, steps=RELAX, nudge=nudge)
    u0 = ctl.free_phase(x, np.zeros((len(x), network.topology.n_state))).copy()
    total, total_b = None, 0.0
    for signed in (beta, -beta):
        network.neurons.cells["u0"] = u0
        ub = ctl.clamped_phase(x, target, signed)
        corr = network.synapses.contrast(x, u0, ub, EPRule.weight_scale(signed, len(x)))
        total = corr if total is None else {p: total[p] + corr[p] for p in corr}
        total_b = total_b + (ub - u0).mean(0) / signed
    return {p: v / 2 for p, v in total.items()}, total_b / 2, u0


def relative_error(estimate, grads, est_b, grad_b):
    num = sum(np.sum((estimate[p] + grads[p]) ** 2) for p in grads) + np.sum((est_b + grad_b) ** 2)
    den = sum(np.sum(grads[p] ** 2) for p in grads) + np.sum(grad_b ** 2)
    return np.sqrt(num / den)


@pytest.mark.parametrize("make_topology, scale", [
    (lambda rng: layered([5, 4, 4, 3]), 0.25),
    (lambda rng: layer_skipping([5, 4, 4, 3], rng, n=6), 0.1),
], ids=["layered", "layer-skipping"])
@pytest.mark.parametrize("nudge", ["split", "euler"])
def test_ep_update_approaches_true_gradient_as_beta_shrinks(make_topology, scale, nudge, rng):
    network = random_network(make_topology(rng), rng, scale=scale, bias=0.5)
    x = rng.uniform(0, 1, (3, 5))
    target = np.eye(3)[[0, 2, 1]]
    s_closed = equilibrium(network, x)
    assert np.all((s_closed > 0.02) & (s_closed < 0.98)), "test premise: no neuron clipped"
    grads, grad_b = true_gradients(network, x, target)

    errors = []
    for beta in (0.3, 0.03, 0.003):
        estimate, est_b, u0 = ep_estimate(network, x, target, beta, nudge)
        np.testing.assert_allclose(u0, s_closed, atol=1e-10)  # the dynamics reach the closed-form equilibrium
        errors.append(relative_error(estimate, grads, est_b, grad_b))
    assert errors[0] > errors[1] > errors[2], errors
    assert errors[2] < 1e-4, errors
    # the symmetric estimate is second order in β: 10x smaller β, ~100x smaller error
    assert errors[1] / errors[2] > 30, errors


@pytest.mark.parametrize("nudge", ["split", "euler"])
def test_one_sided_estimate_is_first_order(nudge, rng):
    """With one sign of β the bias of the estimate shrinks only linearly."""
    network = random_network(layered([5, 4, 3]), rng, scale=0.25, bias=0.5)
    x = rng.uniform(0, 1, (2, 5))
    target = np.eye(3)[[0, 2]]
    grads, grad_b = true_gradients(network, x, target)
    ctl = controller_for(network, steps=RELAX, nudge=nudge)
    errors = []
    for beta in (0.1, 0.01):
        u0 = ctl.free_phase(x, np.zeros((2, network.topology.n_state))).copy()
        ub = ctl.clamped_phase(x, target, beta)
        corr = network.synapses.contrast(x, u0, ub, EPRule.weight_scale(beta, len(x)))
        errors.append(relative_error(corr, grads, (ub - u0).mean(0) / beta, grad_b))
    assert 5 < errors[0] / errors[1] < 20, errors


@pytest.mark.parametrize("nudge", ["split", "euler"])
def test_the_controllers_estimators_have_bias_of_order_beta_and_beta_squared(nudge, rng):
    """Through the controller's own batch (free, weakly-clamped (and −β) and update phases):
    ``one_sided``'s error against the true gradient falls as β, ``symmetric``'s as β²."""
    from copy import deepcopy

    from neurosim.learning.phases import Events
    from neurosim.observe.observer import Observer

    class Corrections(Observer):
        def on_update(self, corrections, examples, model):
            self.seen = {pair: dw.copy() for pair, dw in corrections.items()}

    network = random_network(layered([5, 4, 3]), rng, scale=0.25, bias=0.5)
    x = rng.uniform(0, 1, (2, 5))
    target = np.eye(3)[[0, 2]]
    grads, grad_b = true_gradients(network, x, target)
    order = {}
    for estimator in ("one_sided", "symmetric"):
        errors = []
        for beta in (0.1, 0.05, 0.025):
            copy = deepcopy(network)
            ctl = controller_for(copy, steps=RELAX, nudge=nudge, estimator=estimator, beta=beta)
            bias = copy.neurons.bias.copy()
            seen = Corrections()
            ctl.train_batch(x, target, np.zeros((2, copy.topology.n_state)), ctl.rule.beta.draw(None),
                            Events([seen]))
            errors.append(relative_error(seen.seen, grads, copy.neurons.bias - bias, grad_b))
        order[estimator] = np.polyfit(np.log([0.1, 0.05, 0.025]), np.log(errors), 1)[0]
    assert 0.8 < order["one_sided"] < 1.2, order
    assert 1.8 < order["symmetric"] < 2.2, order
