"""The action ledger against counts derived by hand, and energy = counts × the device table."""

from __future__ import annotations

from types import SimpleNamespace

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import DEFAULT, network_scenario, random_network
from neurosim.learning.backprop import Backpropagation
from neurosim.learning.ep import EquilibriumPropagation
from neurosim.devices.spec import DeviceSpec
from neurosim.devices.energy import ACTION_POINT, ACTIONS, EnergyTable
from neurosim.learning.phases import Events
from neurosim.learning.rules import Beta, EPRule
from neurosim.observe.ledger import INFERENCE, Ledger
from neurosim.observe.recorder import recording
from neurosim.data.datasets import load_dataset
from neurosim.config.scenario import DynamicsConfig, scenario_from_dict
from neurosim.models.topology import Topology, layered
from neurosim.training.loop import BatchRecord, train


def _count(ledger: Ledger, phase: str, device: str, action: str) -> int:
    return int(ledger.counts[phase][ACTIONS.index((device, action))])


def _watching(ctl, dynamics: DynamicsConfig) -> tuple[Ledger, Events]:
    """A ledger started on a controller driven by hand, and the events to pass to its phases."""
    ledger = Ledger(DeviceSpec(), 64)
    # what train() passes as the run, reduced to what an observer may read at the start
    ledger.on_start(SimpleNamespace(scenario=SimpleNamespace(dynamics=dynamics), controller=ctl, model=ctl.model))
    return ledger, Events([ledger], [ledger])


def _ep_batch(topology: Topology, batch: int, t_free: int, t_clamped: int, rng) -> Ledger:
    """One EP training batch on ``topology``, watched by a ledger."""
    network = random_network(topology, rng, scale=0.2)
    dynamics = DynamicsConfig(epsilon=0.5, beta=0.5, t_free=t_free, t_clamped=t_clamped)
    ctl = EquilibriumPropagation(network, dynamics, EPRule(Beta(dynamics.beta, dynamics.estimator)),
                                 {p: 0.1 for p in topology.pairs}, np.full(topology.n_state, 0.1))
    ledger, events = _watching(ctl, dynamics)
    x = rng.uniform(0, 1, (batch, topology.layer_sizes[0]))
    target = np.eye(topology.layer_sizes[-1])[rng.integers(0, topology.layer_sizes[-1], batch)]
    ctl.train_batch(x, target, np.zeros((batch, topology.n_state)), 0.5, events=events)
    ledger.on_train_batch(0, 0, BatchRecord(0, batch, 0.0, 0.5, None))
    return ledger


# A layer-skipping network written out by hand: sizes 2-3-2, full adjacent blocks (6 + 6),
# two skip connections input→output, one intralayer connection in layer 1.
_SKIP = np.zeros((2, 2), dtype=bool)
_SKIP[0, 1] = _SKIP[1, 0] = True
_INTRA = np.zeros((3, 3), dtype=bool)
_INTRA[0, 2] = _INTRA[2, 0] = True
SKIPPING = Topology((2, 3, 2), {(0, 1): None, (1, 2): None, (0, 2): _SKIP, (1, 1): _INTRA}, kind="layer_skipping")


def test_ep_layered_counts_equal_hand_derived_formulas(rng):
    # sizes 3-4-2: C = 3·4 + 4·2 = 20 connections, C_rec = 8 between non-input neurons,
    # N = 6 non-input neurons; batch 5, 7 free steps, 3 weakly-clamped steps.
    ledger = _ep_batch(layered([3, 4, 2]), batch=5, t_free=7, t_clamped=3, rng=rng)
    expected = {
        ("free", "synapse", "mac_forward"): 7 * 5 * 20,
        ("free", "synapse", "mac_backward"): 7 * 5 * 8,
        ("free", "synapse", "weight_read"): 7 * 5 * 28,
        ("free", "input", "dac"): 7 * 5 * 3,
        ("free", "neuron", "integrate"): 7 * 5 * 6,
        ("free", "neuron", "adc"): 7 * 5 * 6,
        ("free", "neuron", "write_u0"): 5 * 6,
        ("free", "neuron", "nudge"): 0,
        ("weakly-clamped", "synapse", "mac_forward"): 3 * 5 * 20,
        ("weakly-clamped", "neuron", "nudge"): 3 * 5 * 2,
        ("weakly-clamped", "neuron", "read_u0"): 5 * 6,
        ("weakly-clamped", "neuron", "write_ubeta"): 5 * 6,
        ("update", "synapse", "update_mac"): 2 * 5 * 20,
        ("update", "synapse", "weight_read"): 20,
        ("update", "synapse", "weight_write"): 20,
        ("update", "neuron", "bias_write"): 6,
        ("update", "neuron", "read_ubeta"): 5 * 6,
        ("update", "neuron", "dac"): 2 * 5 * 6,
        ("update", "neuron", "rho_prime"): 0,
    }
    assert {key: _count(ledger, *key) for key in expected} == expected


def test_ep_layer_skipping_counts_include_skip_and_intralayer_connections(rng):
    # C = 6 + 6 + 2 skip + 1 intralayer = 15; C_rec = 6 + 1 = 7 (layer 1-2 and 1-1); N = 5.
    ledger = _ep_batch(SKIPPING, batch=3, t_free=4, t_clamped=2, rng=rng)
    assert _count(ledger, "free", "synapse", "mac_forward") == 4 * 3 * 15
    assert _count(ledger, "free", "synapse", "mac_backward") == 4 * 3 * 7
    assert _count(ledger, "weakly-clamped", "synapse", "mac_backward") == 2 * 3 * 7
    assert _count(ledger, "update", "synapse", "update_mac") == 2 * 3 * 15
    assert _count(ledger, "update", "synapse", "weight_write") == 15
    assert _count(ledger, "free", "neuron", "integrate") == 4 * 3 * 5


@settings(max_examples=15, deadline=None)
@given(sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4), batch=st.integers(1, 4),
       t_free=st.integers(1, 6), t_clamped=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_ep_step_counts_scale_with_steps_batch_and_layer_products(sizes, batch, t_free, t_clamped, seed):
    ledger = _ep_batch(layered(sizes), batch, t_free, t_clamped, np.random.default_rng(seed))
    products = sum(a * b for a, b in zip(sizes, sizes[1:]))
    recurrent = sum(a * b for a, b in zip(sizes[1:], sizes[2:]))
    assert _count(ledger, "free", "synapse", "mac_forward") == t_free * batch * products
    assert _count(ledger, "weakly-clamped", "synapse", "mac_backward") == t_clamped * batch * recurrent
    assert _count(ledger, "weakly-clamped", "neuron", "nudge") == t_clamped * batch * sizes[-1]


@pytest.mark.parametrize("topology, forward_drivers, backward_drivers", [
    (layered([3, 4, 2]), 4, 2),
    (Topology((2, 3, 2), {(0, 1): None, (1, 2): None, (0, 2): _SKIP}, kind="skip DAG"), 3, 2),
], ids=["layered", "with skip connections"])
def test_bp_counts_equal_hand_derived_formulas(topology, forward_drivers, backward_drivers, rng):
    n0, n_out, n = topology.layer_sizes[0], topology.layer_sizes[-1], topology.n_state
    c = topology.n_connections
    c_rec = sum(topology.connection_count(p) for p in topology.pairs if p[0] > 0)
    assert (c, c_rec) == ((20, 8) if topology.kind == "layered" else (14, 6))  # by hand: 12+8, 8; 6+6+2, 6
    network = random_network(topology, rng, scale=0.3)
    ctl = Backpropagation(network, {p: 0.1 for p in topology.pairs}, np.full(n, 0.1))
    ledger, events = _watching(ctl, DynamicsConfig())
    batch = 4
    ctl.train_batch(rng.uniform(0, 1, (batch, n0)), np.eye(n_out)[[0, 1, 0, 1]], None, None, events=events)
    ledger.on_train_batch(0, 0, BatchRecord(0, batch, 0.0, None, None))
    expected = {
        ("forward", "synapse", "mac_forward"): batch * c,
        ("forward", "synapse", "mac_backward"): 0,
        ("forward", "neuron", "write_activation"): batch * n,
        ("forward", "neuron", "dac"): batch * forward_drivers,
        ("forward", "neuron", "integrate"): 0,
        ("backward", "synapse", "mac_backward"): batch * c_rec,
        ("backward", "neuron", "rho_prime"): batch * n,
        ("backward", "neuron", "write_error"): batch * n,
        ("backward", "neuron", "dac"): batch * backward_drivers,
        ("backward", "neuron", "read_activation"): batch * n_out,
        ("update", "synapse", "update_mac"): batch * c,
        ("update", "synapse", "weight_write"): c,
        ("update", "neuron", "read_error"): batch * n,
    }
    assert {key: _count(ledger, *key) for key in expected} == expected


def test_test_set_evaluation_is_counted_as_inference_not_training(tmp_path):
    scenario = scenario_from_dict(network_scenario(seed=3, **{
        "data.train_size": 60, "data.test_size": 30, "topology.sizes": [784, 6, 10],
        "training.epochs": 2, "training.learning_rate": DEFAULT}))
    with recording(tmp_path / "r.h5", scenario) as observers:
        train(scenario, load_dataset(scenario.data), observers=observers)
    ledger = observers[0]
    assert isinstance(ledger, Ledger)
    connections = 784 * 6 + 6 * 10
    assert (ledger.examples, ledger.test_examples, ledger.epochs) == (120, 60, 2)
    assert _count(ledger, "free", "synapse", "mac_forward") == 5 * 120 * connections
    assert _count(ledger, INFERENCE, "synapse", "mac_forward") == 5 * 60 * connections
    assert _count(ledger, INFERENCE, "synapse", "update_mac") == 0
    with h5py.File(tmp_path / "r.h5") as f:
        g = f["ledger"]
        training = g["phase"][()] != b"inference"
        assert g.attrs["energy_total_pJ"] == pytest.approx(g["energy_pJ"][()][training].sum())
        assert g.attrs["energy_per_example_pJ"] == pytest.approx(g.attrs["energy_total_pJ"] / 120)
        assert np.array_equal(g["bits_moved"][()], g["count"][()] * g["bits"][()])


def test_every_action_has_an_energy_entry_with_a_source():
    table = EnergyTable()
    for device, action in ACTIONS:
        assert table.entry(device, action).source
    fields = {(d, a) for d in ("input", "neuron", "synapse") for a in type(getattr(table, d)).model_fields}
    assert fields == set(ACTIONS)


@settings(max_examples=25, deadline=None)
@given(point=st.sampled_from(sorted(set(ACTION_POINT.values()))), bits=st.integers(2, 12))
def test_changing_one_bit_depth_changes_exactly_the_actions_of_that_point(point, bits):
    device, name = point.split(".")
    changed = DeviceSpec.model_validate({device: {name: {"bits": bits, "range": [0.0, 1.0] if name in
                                                          ("activation", "state", "memory") else [-1.0, 1.0]}}})
    topology = layered([3, 4, 2])
    rows = {}
    for spec in (DeviceSpec(), changed):
        ledger = _ep_batch(topology, 2, 3, 2, np.random.default_rng(0))
        ledger.spec = spec
        rows[spec is changed] = {(r.phase, r.device, r.action): r for r in ledger.rows()}
    assert rows[False].keys() == rows[True].keys()
    for key, before in rows[False].items():
        after = rows[True][key]
        assert after.count == before.count
        entry = EnergyTable().entry(key[1], key[2])
        assert after.energy_pJ == pytest.approx(after.count * entry.at(after.bits))
        if ACTION_POINT[(key[1], key[2])] == point:
            assert (after.bits, before.bits) == (bits, 64)
        else:
            assert (after.bits, after.energy_pJ) == (before.bits, before.energy_pJ)


@given(pj=st.floats(0.0, 10.0), ref=st.integers(1, 32), bits=st.integers(1, 32))
def test_energy_entry_scaling_follows_its_law(pj, ref, bits):
    for scaling, k in (("constant", 0), ("linear", 1), ("quadratic", 2)):
        entry = EnergyTable().neuron.adc.model_copy(update={"pJ": pj, "bits": ref, "scaling": scaling})
        assert entry.at(bits) == pytest.approx(pj * (bits / ref) ** k)


def test_the_symmetric_estimator_counts_its_second_weakly_clamped_phase():
    """The −β phase costs what the +β phase costs, step for step; the update reads U+β and U−β."""
    from neurosim.config.scenario import scenario_from_dict
    from neurosim.training.loop import train

    counts = {}
    for estimator in ("one_sided", "symmetric"):
        scenario = scenario_from_dict(network_scenario({"dynamics.estimator": estimator}))
        ledger = Ledger(scenario.devices, 32)
        train(scenario, observers=[ledger])
        counts[estimator] = {(r.phase, r.device, r.action): r.count for r in ledger.rows()}
    one, two = counts["one_sided"], counts["symmetric"]
    clamped = {(d, a): n for (p, d, a), n in two.items() if p == "weakly-clamped"}
    negative = {(d, a): n for (p, d, a), n in two.items() if p == "weakly-clamped-negative"}
    assert clamped and negative == clamped
    assert clamped == {(d, a): n for (p, d, a), n in one.items() if p == "weakly-clamped"}
    n = scenario.data.train_size * sum(scenario.topology.sizes[1:])
    assert two[("update", "neuron", "read_ubeta")] == 2 * n and ("update", "neuron", "read_u0") not in two
    assert one[("update", "neuron", "read_ubeta")] == n == one[("update", "neuron", "read_u0")]
