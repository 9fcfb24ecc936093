"""Directed EP on the device quantisation points: ideal devices change nothing, quantised
points act where docs/deep.md says, stored values stay on their levels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import DEFAULT, SCENARIOS, directed_scenario, on_levels
from neurosim.config.scenario import scenario_from_dict
from neurosim.devices.directed_synapses import DirectedSynapseBank
from neurosim.devices.spec import DeviceSpec, Quantisers
from neurosim.learning.directed_dynamics import relax, remember, vector_field
from neurosim.models.directed import DirectedNetwork
from neurosim.models.graph import DirectedGraph
from neurosim.models.stability import rate_sum_drift, stable_fraction
from neurosim.studies.directed_study import mse_curve
from neurosim.training.loop import train

REFERENCE = Path(__file__).parent / "data" / "directed-float-reference.npz"


def reference_scenario(kind: str, task: str, devices=DEFAULT):
    """The runs recorded in REFERENCE: random β signs, batches of 2, ℓ1 and (DEEP) pruning."""
    content = directed_scenario(
        name=f"{kind}-{task}", seed=7, devices=devices,
        dynamics={"kind": kind, "estimator": "random_sign"}, training={"epochs": 40, "batch_size": 2},
        directed={"task": task, "l1": 0.001, "sparsity": kind == "deep", "sparsity_start": 5,
                  "threshold": 0.1, "temperature": 0.05})
    return scenario_from_dict(content, "reference.yaml", SCENARIOS)


def record_reference() -> dict[str, np.ndarray]:
    """What REFERENCE holds. The file was recorded with these scenarios by the float code
    before the directed synapses had quantisation points (commit 871b9a8). Running this
    module as a script re-records it with the current code: do that only when a change of
    the float results is intended."""
    out = {}
    for kind, task in (("deep", "xor"), ("asymmetric", "and")):
        run = train(reference_scenario(kind, task))
        out[f"{kind}_weights"], out[f"{kind}_alive"] = run.model.synapses.weights, run.model.synapses.alive
        out[f"{kind}_mse"] = mse_curve(run)
        out[f"{kind}_sparsity"] = np.array([e.sparsity for e in run.epochs])
    return out


def test_ideal_devices_reproduce_the_recorded_float_run_bit_for_bit():
    reference = np.load(REFERENCE)
    for kind, task in (("deep", "xor"), ("asymmetric", "and")):
        for devices in (DEFAULT, "../devices/ideal.yaml"):
            run = train(reference_scenario(kind, task, devices))
            bank = run.model.synapses
            assert np.array_equal(bank.weights, reference[f"{kind}_weights"]), (kind, devices)
            assert np.array_equal(bank.alive, reference[f"{kind}_alive"])
            assert np.array_equal(mse_curve(run), reference[f"{kind}_mse"])
            assert np.array_equal([e.sparsity for e in run.epochs], reference[f"{kind}_sparsity"])
            assert all(np.isnan(e.lost_fraction) for e in run.epochs)
    assert reference["deep_sparsity"][-1] > 0  # the recorded DEEP run did prune


QUANTISED = {
    "synapse": {"weight": {"bits": 6, "rounding": "stochastic"}, "update": {"bits": 8, "rounding": "stochastic"},
                "activation": {"bits": 6}},
    "neuron": {"bias": {"bits": 5, "range": [-2.0, 2.0]}, "bias_update": {"bits": 8, "rounding": "stochastic"},
               "current": {"bits": 10}, "state": {"bits": 7}, "memory": {"bits": 5}},
}


def test_quantised_training_keeps_stored_values_on_their_levels():
    for kind, task in (("deep", "xor"), ("asymmetric", "and")):
        run = train(reference_scenario(kind, task, QUANTISED))
        model = run.model
        bank, q, graph = model.synapses, model.synapses.q, model.graph
        assert on_levels(bank.connections[bank.alive[: graph.n]], q.weight).all()
        assert on_levels(bank.bias[graph.free], q.bias).all()
        assert (bank.weights[~bank.alive] == 0).all()  # removed and absent connections stay exactly 0
        assert (bank.bias[: graph.n_inputs] == 0).all()
        assert np.isfinite([e.lost_fraction for e in run.epochs]).all()
        x = run.dataset.train_x
        u0 = run.controller.free_phase(x, store=False)
        assert on_levels(u0[:, graph.free], model.neurons.q.state).all()
        assert on_levels(remember(model, "u0", u0)[:, graph.free], model.neurons.q.memory).all()
        assert np.array_equal(remember(model, "u0", u0)[:, : graph.n_inputs], x)  # inputs are not memory cells
        # the diagnostics read the stored (quantised) weights
        assert abs(run.epochs[-1].rate_sum_drift) < 1e-12
        assert run.epochs[-1].stable_fraction == stable_fraction(DirectedSynapseBank(graph, bank.weights), kind)
    assert run.model.synapses.sparsity() == 0.0  # the asymmetric run prunes nothing; the DEEP one:
    deep = train(reference_scenario("deep", "xor", QUANTISED))
    assert deep.model.synapses.sparsity() > 0


def test_quantised_run_is_reproducible_and_differs_from_float():
    a, b = (train(reference_scenario("deep", "xor", QUANTISED)) for _ in range(2))
    assert np.array_equal(a.model.synapses.weights, b.model.synapses.weights)
    assert np.array_equal(mse_curve(a), mse_curve(b))
    assert not np.array_equal(a.model.synapses.weights, np.load(REFERENCE)["deep_weights"])


def nearest(x, lo, step, top):
    """Round-to-nearest fixed point written out by hand (halves up), saturating."""
    return lo + np.clip(np.floor((np.asarray(x) - lo) / step + 0.5), 0, top) * step


def test_one_quantised_step_follows_the_datapath_by_hand():
    # 1 input, 1 hidden, 1 output; DAC 3 bits on [0, 1], ADC 4 bits on [−2, 2), state 3 bits.
    graph = DirectedGraph(1, 1, 1)
    w = np.zeros((4, 3))
    w[0, 1], w[0, 2], w[1, 2], w[2, 1] = 0.4, 0.2, 0.6, 0.3
    w[3, 1], w[3, 2] = 0.1, -0.05
    spec = DeviceSpec.model_validate({"synapse": {"activation": {"bits": 3}},
                                      "neuron": {"current": {"bits": 4, "range": [-2.0, 2.0]}, "state": {"bits": 3}}})
    model = DirectedNetwork.create(graph, w, Quantisers.build(spec, 0))
    u = np.array([[0.9, 0.33, 0.5]])
    beta, eps, y = 0.5, 0.5, 1.0
    dac = lambda v: nearest(v, 0.0, 1 / 7, 7)  # noqa: E731
    adc = lambda v: nearest(v, -2.0, 0.25, 15)  # noqa: E731
    x, h, o = dac(u[0])
    current_h = adc(0.4 * x + 0.3 * o + 0.1 - h * 0.6)   # outflow of neuron 1: Σ_j W[1, j] = 0.6
    current_o = adc(0.2 * x + 0.6 * h - 0.05 - o * 0.3)  # outflow of neuron 2: W[2, 1] = 0.3
    nudge = 2 * beta * (y - u[0, 2])
    expected_h = nearest(np.clip(u[0, 1] + eps * current_h, 0, 1), 0.0, 1 / 7, 7)
    expected_o = nearest(np.clip(u[0, 2] + eps * (current_o + nudge), 0, 1), 0.0, 1 / 7, 7)
    v = vector_field("deep", model, u, beta, np.array([[y]]))
    assert np.allclose(v[0], [0.0, current_h, current_o + nudge])
    end = relax("deep", model, u, 1, eps, beta, np.array([[y]]))
    assert np.allclose(end[0], [0.9, expected_h, expected_o])
    # the asymmetric field: ADC on Σ W r + b, then the neuron's own leak −s (not quantised)
    v = vector_field("asymmetric", model, u)
    assert np.allclose(v[0, 1:], [adc(0.4 * x + 0.3 * o + 0.1) - u[0, 1], adc(0.2 * x + 0.6 * h - 0.05) - u[0, 2]])


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 8), seed=st.integers(0, 2**32 - 1), weight_bits=st.sampled_from([None, 2, 4, 8]),
       dac_bits=st.integers(1, 8))
def test_proposition_1_holds_for_the_rates_the_dac_sends(n, seed, weight_bits, dac_bits):
    # The outgoing current of DEEP is driven by the same DAC output r as the incoming ones,
    # so Σ_j V_j = Σ_ij W_ij r_i − Σ_j r_j Σ_i W_ji = 0 on quantised devices too (ADC ideal).
    graph = DirectedGraph(0, n - 1, 1)
    spec = DeviceSpec.model_validate({"synapse": {"weight": {"bits": weight_bits}, "activation": {"bits": dac_bits}}})
    weights = np.random.default_rng(seed).uniform(-1.0, 1.0, (graph.n + 1, graph.n))
    model = DirectedNetwork.create(graph, weights, Quantisers.build(spec, 0))
    bank = model.synapses
    bank.weights[graph.bias_row] = 0.0
    s = np.random.default_rng(seed + 1).uniform(0, 1, (5, n))
    v = vector_field("deep", model, s)
    assert np.allclose(v.sum(axis=1), 0.0, atol=1e-12 * n * n)
    assert np.allclose(rate_sum_drift(bank, s), 0.0, atol=1e-12 * n * n)


if __name__ == "__main__":
    np.savez(REFERENCE, **record_reference())
